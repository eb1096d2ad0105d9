package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

// accountJSON is the account object of API.md §4.
type accountJSON struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	CreatedOn time.Time       `json:"created_on"`
	Settings  accountSettings `json:"settings"`
}

type accountSettings struct {
	EnforceTwofactor bool `json:"enforce_twofactor"`
}

func toAccountJSON(a *store.Account) accountJSON {
	return accountJSON{ID: a.ID, Name: a.Name, Type: a.Type, CreatedOn: a.CreatedAt.UTC(),
		Settings: accountSettings{EnforceTwofactor: a.EnforceTwofactor}}
}

// handleAccountList lists the accounts the token may read: the user's memberships in which the
// token (and the user) hold Account Settings Read. Account-owned tokens are refused as
// Cloudflare refuses them. name filters by a case-insensitive substring.
func (s *Server) handleAccountList(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p.Owner().Kind != tokens.OwnerUser {
		return newAPIError(http.StatusBadRequest, 1001, "List accounts endpoint does not support account owned tokens.")
	}
	page, perPage, asc, err := paging(r, 20, 5, 50)
	if err != nil {
		return err
	}
	name := strings.ToLower(r.URL.Query().Get("name"))
	all, err := s.Accounts.Accounts(r.Context(), p.Owner().UserID)
	if err != nil {
		return err
	}
	visible := make([]accountJSON, 0, len(all))
	for i := range all {
		a := &all[i]
		if !p.Decide(authz.AccountSettingsRead, authz.Account(a.ID)).Allowed {
			continue
		}
		if name != "" && !strings.Contains(strings.ToLower(a.Name), name) {
			continue
		}
		visible = append(visible, toAccountJSON(a))
	}
	if !asc && r.URL.Query().Get("direction") != "" {
		// Accounts come ordered by name, ascending unless the client asks for desc.
		slices.Reverse(visible)
	}
	start := min((page-1)*perPage, len(visible))
	end := min(start+perPage, len(visible))
	writeResult(w, visible[start:end], newResultInfo(page, perPage, end-start, int64(len(visible))))
	return nil
}

func (s *Server) handleAccountGet(w http.ResponseWriter, r *http.Request) error {
	a, err := store.AccountByID(s.DB.Gorm(r.Context()), TargetFrom(r.Context()).AccountID)
	if err != nil {
		return err
	}
	writeResult(w, toAccountJSON(a), nil)
	return nil
}

// accountBody is what PUT /accounts/{account_id} reads. cloudflare-go sends the whole account
// (id, type, a zero created_on): read-only fields are ignored.
type accountBody struct {
	Name     *string `json:"name"`
	Settings *struct {
		EnforceTwofactor *bool `json:"enforce_twofactor"`
	} `json:"settings"`
}

func (s *Server) handleAccountUpdate(w http.ResponseWriter, r *http.Request) error {
	var b accountBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	in := accounts.AccountUpdate{Name: b.Name}
	if b.Settings != nil {
		in.EnforceTwofactor = b.Settings.EnforceTwofactor
	}
	if in.Name == nil && in.EnforceTwofactor == nil {
		return errs.E(errs.Invalid, "Nothing to change: send name or settings.enforce_twofactor.").WithAPICode(1001)
	}
	a, err := s.Accounts.UpdateAccount(r.Context(), s.actor(r), TargetFrom(r.Context()).AccountID, in)
	if err != nil {
		return err
	}
	if in.EnforceTwofactor != nil {
		// Members' cached token access follows the setting at once in this process (others
		// follow the change feed).
		s.Tokens.InvalidateAll()
	}
	writeResult(w, toAccountJSON(a), nil)
	return nil
}
