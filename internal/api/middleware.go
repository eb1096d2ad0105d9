package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/internal/analytics"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

type ctxKey struct{}

// reqState is what the middleware puts in the request context.
type reqState struct {
	principal *tokens.Principal
	target    *Target
}

// PrincipalFrom returns the authenticated principal of an API request, or nil outside one.
func PrincipalFrom(ctx context.Context) *tokens.Principal {
	if st, ok := ctx.Value(ctxKey{}).(*reqState); ok {
		return st.principal
	}
	return nil
}

// TargetFrom returns the resource the route's Locator found, or nil outside an API request.
func TargetFrom(ctx context.Context) *Target {
	if st, ok := ctx.Value(ctxKey{}).(*reqState); ok {
		return st.target
	}
	return nil
}

// wrap is the enforcement chain of one route: authenticate, locate, authorize, handle. Every
// authenticated request is then recorded for analytics (see recordRequest). A Public route skips
// the chain: it never reads the credential, so its answer cannot depend on one.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := s.IPs.IP(r) // once: the limits, the IP condition and the traffic record use the same address
		if err := s.limitAddress(w, r, ip); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if err := checkRequestText(r); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if rt.Perm.kind == requirePublic {
			ctx := context.WithValue(r.Context(), ctxKey{}, &reqState{target: &Target{}})
			if err := rt.Handler(s, w, r.WithContext(ctx)); err != nil {
				writeError(w, r, s.Logger, err)
			}
			return
		}
		p, err := s.authenticate(r, ip)
		if err != nil {
			if rt.Perm.kind == requireNothing && errs.Is(err, errs.Unauthenticated) {
				// The verify endpoints: a real token says why it cannot be used (verifyRefusal);
				// anything else is Cloudflare's 401 1000 "Invalid API Token".
				if p != nil && verifiesHere(r, p) {
					s.writeVerifyRefusal(w, p, err)
					return
				}
				err = newAPIError(http.StatusUnauthorized, 1000, "Invalid API Token")
			}
			writeError(w, r, s.Logger, err)
			return
		}
		server.AddLogAttr(w, slog.String("token_id", p.TokenID()))
		if err := s.limitPrincipal(w, r, p); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		sw := server.Recorder(w) // the request logger's, when there is one
		var t *Target
		allowed := false
		defer func() { s.recordRequest(rt, r, ip, p, t, sw, allowed) }()
		t, err = rt.Resource.locate(s, r, p)
		if err != nil {
			writeError(sw, r, s.Logger, err)
			return
		}
		if err := s.authorize(rt, p, t); err != nil {
			if errs.Is(err, errs.NotFound) {
				// The token cannot see this zone or account: it answered 404 like a missing one,
				// and the request is no traffic of that tenant's to record against it.
				t = nil
			}
			writeError(sw, r, s.Logger, err)
			return
		}
		if err := s.checkZoneWritable(r, rt, t); err != nil {
			writeError(sw, r, s.Logger, err)
			return
		}
		allowed = true
		ctx := context.WithValue(r.Context(), ctxKey{}, &reqState{principal: p, target: t})
		if err := rt.Handler(s, sw, r.WithContext(ctx)); err != nil {
			writeError(sw, r, s.Logger, err)
		}
	})
}

// recordRequest hands an authenticated request to the analytics recorder (when there is one):
// the route pattern, the group it needed, whether authorization let it through, the status and
// the response size, and the zone and account it acted on.
func (s *Server) recordRequest(rt Route, r *http.Request, ip netip.Addr, p *tokens.Principal, t *Target, sw *server.StatusRecorder, allowed bool) {
	if s.Requests == nil {
		return
	}
	req := analytics.Request{At: s.Now(), Method: r.Method, Route: rt.Pattern, Status: sw.Status(), TokenID: p.TokenID(),
		// A handler may refuse too (a list the token reaches nothing of answers 403): count that
		// as denied, not as a use of the permission.
		Allowed: allowed && sw.Status() != http.StatusForbidden, Bytes: sw.Bytes(), IP: ip.String()}
	if rt.Perm.kind == requirePerm {
		req.PermissionGroup = rt.Perm.perm.Group().ID
	}
	if id := r.PathValue("namespace_id"); store.ValidID(id) { // "" on routes without one
		req.NamespaceID = id
	}
	if t != nil {
		req.AccountID = t.AccountID
		if t.Zone != nil {
			req.ZoneID = t.Zone.ID
		}
	}
	s.Requests.Record(req)
}

// authenticate reads the credential of r and checks that it may be used now from ip, the client's
// address.
//
// When the secret is right but the token cannot be used now (disabled, expired, not yet valid, or
// refused for the client address) it returns the principal as well as the error.
func (s *Server) authenticate(r *http.Request, ip netip.Addr) (*tokens.Principal, error) {
	secret, err := bearer(r)
	if err != nil {
		return nil, err
	}
	p, err := s.Tokens.Authenticate(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	if err := p.Cred.Check(s.Now(), ip); err != nil {
		return p, err // the principal, for the verify endpoints to explain the refusal
	}
	return p, nil
}

// bearer extracts the token from the Authorization header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		if r.Header.Get("X-Auth-Key") != "" || r.Header.Get("X-Auth-Email") != "" || r.Header.Get("X-Auth-User-Service-Key") != "" {
			return "", newAPIError(http.StatusForbidden, 9103,
				"Unknown X-Auth-Key or X-Auth-Email: Latchkey has no global API keys; send an API token as Authorization: Bearer <token>")
		}
		return "", newAPIError(http.StatusBadRequest, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if len(h) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || !validTokenChars(tok) {
		e := newAPIError(http.StatusBadRequest, 6003, "Invalid request headers")
		e.item.ErrorChain = []errorItem{{Code: 6111, Message: "Invalid format for Authorization header"}}
		return "", e
	}
	return tok, nil
}

// validTokenChars accepts what any token format (Cloudflare's or ours) can hold.
func validTokenChars(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkZoneWritable refuses a change to a zone that is read-only because its account holds more
// zones than its plan allows (billing.Limits.OverLimitZones): any non-GET route that needs a
// write permission group on the zone answers 403 with code 10400. Reads keep working, and so does
// deleting the zone, which is how an account gets back under its limit. With billing off nothing
// is read-only.
func (s *Server) checkZoneWritable(r *http.Request, rt Route, t *Target) error {
	if t == nil || t.Zone == nil || rt.Perm.kind != requirePerm || !rt.Perm.perm.Group().Write {
		return nil
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if rt.Method == http.MethodDelete && rt.Pattern == "/zones/{zone_id}" {
		return nil
	}
	lim := s.Billing.Limits()
	if !lim.Enabled() {
		return nil
	}
	return lim.CheckZoneWritable(s.DB.Gorm(r.Context()), t.AccountID, t.Zone.ID)
}

// authorize checks the route's permission on the located resource. A resource the principal
// cannot see at all answers 404, so that ids of other tenants reveal nothing.
func (s *Server) authorize(rt Route, p *tokens.Principal, t *Target) error {
	if rt.Perm.kind != requirePerm || t.Listing {
		return nil
	}
	d := p.Decide(rt.Perm.perm, t.Resource)
	if d.Allowed {
		return nil
	}
	if t.New {
		// The resource does not exist yet: name what a grant must cover, not the new id.
		all := authz.ResourceSelector{Kind: authz.SelectAccountZones, ID: t.AccountID}.String()
		return denial(rt.Perm.code, d.Perm, all, `requires "`+d.Perm.String()+`" on every zone of the account (`+all+`)`)
	}
	if !p.CanSee(t.Resource) {
		return errs.E(errs.NotFound, "not found")
	}
	return denial(rt.Perm.code, d.Perm, d.Resource.Key(), d.Reason())
}
