package api

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
)

// denial is the 403 for a missing permission: Cloudflare's code and message, with Latchkey's
// "missing" field naming the permission group and the resource, and the engine's reason in the
// chain.
func denial(code int, perm authz.Perm, resourceKey, reason string) *apiError {
	msg := "Authentication error"
	if code == 9109 {
		msg = "Unauthorized to access requested resource"
	}
	g := perm.Group()
	e := newAPIError(http.StatusForbidden, code, msg)
	e.item.Missing = &missing{PermissionGroup: groupRef{ID: g.ID, Name: g.Name}, Resource: resourceKey}
	e.item.ErrorChain = []errorItem{{Code: code, Message: reason}}
	return e
}
