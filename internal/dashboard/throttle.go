package dashboard

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// SignInLimits are the sign-in and sign-up throttles. Every attempt is reserved in the shared store before the
// password is hashed, so parallel attempts cannot all pass a check made before any is counted; a
// successful sign-in gives its reservations back.
type SignInLimits struct {
	// Address counts attempts per client address (IPv4 address, IPv6 /64), whatever the email.
	Address ratelimit.Limit
	// AccountNetwork counts attempts per (email, client network: IPv4 /24, IPv6 /64). It is what
	// stops guessing one account's password, and a stranger on another network cannot use it
	// up: the owner signing in from elsewhere has an allowance of their own.
	AccountNetwork ratelimit.Limit
	// Global counts every attempt that reaches the password check, server-wide. Over it, an
	// attempt waits for the next window (at most GlobalWait) instead of being refused at once: a
	// brute force from many networks is slowed down, and password hashing (argon2id, 64 MiB each)
	// cannot swamp the servers.
	Global     ratelimit.Limit
	GlobalWait time.Duration
	// SignUp counts sign-ups per client address, reserved before the password is hashed.
	SignUp ratelimit.Limit
}

// DefaultSignInLimits are the limits the server uses (README, "Sign-in throttling").
var DefaultSignInLimits = SignInLimits{
	Address:        ratelimit.Limit{Name: "signin-address", Events: 20, Window: 15 * time.Minute},
	AccountNetwork: ratelimit.Limit{Name: "signin-account-network", Events: 5, Window: 15 * time.Minute},
	Global:         ratelimit.Limit{Name: "signin-global", Events: 100, Window: 10 * time.Second},
	GlobalWait:     10 * time.Second,
	SignUp:         ratelimit.Limit{Name: "signup-address", Events: 10, Window: time.Hour},
}

// signInAttempt is a reserved sign-in attempt.
type signInAttempt struct {
	s                   *server
	addrKey, accountKey string
}

// reserveSignIn counts one sign-in attempt for email from r's client address under every limit,
// before any password is checked. It returns the attempt, or how long to wait when a limit is
// reached (then nothing more may be done for this attempt).
func (s *server) reserveSignIn(r *http.Request, email string) (*signInAttempt, time.Duration, error) {
	ctx := r.Context()
	ip := s.IPs.IP(r)
	norm, err := accounts.NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	a := &signInAttempt{s: s, addrKey: ratelimit.AddressKey(ip), accountKey: norm + "|" + ratelimit.NetworkKey(ip)}
	lim := s.SignInLimits
	res, err := s.Limiter.Take(ctx, lim.Address, a.addrKey)
	if err != nil || !res.Allowed {
		return nil, res.RetryAfter, err
	}
	if res, err = s.Limiter.Take(ctx, lim.AccountNetwork, a.accountKey); err != nil || !res.Allowed {
		return nil, res.RetryAfter, err
	}
	// The global slow-down: wait for the next window rather than refuse, up to GlobalWait.
	deadline := time.Now().Add(lim.GlobalWait) // the store's clock, not s.Now
	for {
		res, err := s.Limiter.Take(ctx, lim.Global, "all")
		if err != nil {
			return nil, 0, err
		}
		if res.Allowed {
			return a, 0, nil
		}
		if time.Now().Add(res.RetryAfter).After(deadline) {
			// Busy for longer than an attempt may wait: the attempt was not made, so it does
			// not count against the address or the account.
			a.refund(context.WithoutCancel(ctx))
			return nil, res.RetryAfter, nil
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(res.RetryAfter):
		}
	}
}

// refund gives back the address's and the account's reservation.
func (a *signInAttempt) refund(ctx context.Context) {
	lim := a.s.SignInLimits
	if err := a.s.Limiter.Refund(ctx, lim.Address, a.addrKey); err != nil {
		a.s.Logger.Warn("refund sign-in attempt", "err", err)
	}
	if err := a.s.Limiter.Refund(ctx, lim.AccountNetwork, a.accountKey); err != nil {
		a.s.Logger.Warn("refund sign-in attempt", "err", err)
	}
}

// succeeded forgets the account's attempts from this network (the owner is back) and gives the
// address its attempt back: only failures count.
func (a *signInAttempt) succeeded(ctx context.Context) {
	lim := a.s.SignInLimits
	if err := a.s.Limiter.Refund(ctx, lim.Address, a.addrKey); err != nil {
		a.s.Logger.Warn("refund sign-in attempt", "err", err)
	}
	if err := a.s.Limiter.Reset(ctx, lim.AccountNetwork, a.accountKey); err != nil {
		a.s.Logger.Warn("reset sign-in attempts", "err", err)
	}
}

// reserveSignUp counts one sign-up from r's client address. It returns 0 when the sign-up may go
// on, else how long to wait.
func (s *server) reserveSignUp(r *http.Request) (time.Duration, error) {
	res, err := s.Limiter.Take(r.Context(), s.SignInLimits.SignUp, ratelimit.AddressKey(s.IPs.IP(r)))
	if err != nil || res.Allowed {
		return 0, err
	}
	return max(res.RetryAfter, time.Second), nil
}
