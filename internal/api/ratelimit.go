package api

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/tokens"
)

// limit counts one request for key under lim. Over the limit it sets Retry-After and returns a
// 429 error with Cloudflare's code 971 and what (a sentence naming what was exceeded). When the
// shared store does not answer the request goes through and the failure is logged: a Redis or
// database hiccup must not take the API down.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, lim ratelimit.Limit, key, what string) error {
	res, err := s.Limiter.Take(r.Context(), lim, key)
	if err != nil {
		s.Logger.Warn("rate limit store failed; request let through", "limit", lim.Name, "err", err)
		return nil
	}
	if res.Allowed {
		return nil
	}
	secs := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return errs.E(errs.TooManyRequests, "%s; try again in %d seconds.", what, secs)
}

// apiLimit returns the configured per-user/token/address limit under name, and whether it is on.
func (s *Server) apiLimit(name string) (ratelimit.Limit, bool) {
	rl := s.RateLimit
	return ratelimit.Limit{Name: name, Events: rl.Requests, Window: rl.Window}, rl.Requests > 0
}

// limitAddress applies the API rate limit of the client address (IPv6 per /64), before anything
// else: it also slows down guessing of tokens.
func (s *Server) limitAddress(w http.ResponseWriter, r *http.Request, ip netip.Addr) error {
	lim, on := s.apiLimit("api-address")
	if !on {
		return nil
	}
	return s.limit(w, r, lim, ratelimit.AddressKey(ip), "Rate limit exceeded for your address")
}

// limitPrincipal applies the API rate limits of the token and of whom it acts for (its user, or
// its account for an account-owned token), like Cloudflare's per-user limit.
func (s *Server) limitPrincipal(w http.ResponseWriter, r *http.Request, p *tokens.Principal) error {
	lim, on := s.apiLimit("api-token")
	if !on {
		return nil
	}
	if err := s.limit(w, r, lim, p.TokenID(), "Rate limit exceeded for this token"); err != nil {
		return err
	}
	lim.Name = "api-user"
	o := p.Owner()
	key := p.Cred.OwnerLimitKey() // "user:<id>", or "account:<id>" for an account-owned token
	if o.Kind == tokens.OwnerAccount {
		// An account's plan sets its tokens' limit (billing on); LATCHKEY_RATE_LIMIT otherwise.
		if rl, ok := s.Billing.RateLimit(r.Context(), o.AccountID); ok {
			lim.Events, lim.Window = rl.Requests, rl.Window
		}
	}
	return s.limit(w, r, lim, key, "Rate limit exceeded for your user")
}
