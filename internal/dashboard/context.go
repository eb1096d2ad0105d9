package dashboard

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/internal/store"
)

// principal is the signed-in user of a request, with their session and accounts.
type principal struct {
	User     *store.User
	Session  *store.Session
	Accounts []store.Account
	// Account is the current account, or nil when the user belongs to none.
	Account *store.Account
	// TwoFactorRequired: the current account requires two-factor sign-in and the user has it
	// off, so only their profile pages are open (requireUser sends them to turn it on).
	TwoFactorRequired bool
}

type principalKey struct{}

// principalFrom returns the signed-in user of r, or nil.
func principalFrom(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

func withPrincipal(ctx context.Context, p *principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
