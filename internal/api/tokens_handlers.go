package api

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/tokens"
)

// tokenJSON is the token object of API.md §1.
type tokenJSON struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Status     string             `json:"status"`
	IssuedOn   time.Time          `json:"issued_on"`
	ModifiedOn time.Time          `json:"modified_on"`
	LastUsedOn *time.Time         `json:"last_used_on,omitempty"`
	NotBefore  *time.Time         `json:"not_before,omitempty"`
	ExpiresOn  *time.Time         `json:"expires_on,omitempty"`
	Policies   []authz.PolicyJSON `json:"policies"`
	Condition  *authz.Condition   `json:"condition,omitempty"`
	Value      string             `json:"value,omitempty"`
	// ParentID (a Latchkey extension) is the token that minted this one through the API, if
	// any. Disabling, deleting, rolling or reporting a parent disables its descendants.
	ParentID string `json:"parent_id,omitempty"`
}

func toTokenJSON(t *tokens.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Status: t.Status, IssuedOn: t.IssuedOn, ModifiedOn: t.ModifiedOn,
		LastUsedOn: t.LastUsedOn, NotBefore: t.NotBefore, ExpiresOn: t.ExpiresOn, Policies: t.Policies, Condition: t.Condition,
		ParentID: t.ParentID}
}

// tokenBody is the body of create and update. Update also reads status; read-only fields that
// clients re-send (id, issued_on, modified_on) are ignored.
type tokenBody struct {
	Name      string             `json:"name"`
	Policies  []authz.PolicyJSON `json:"policies"`
	Condition *authz.Condition   `json:"condition"`
	NotBefore *time.Time         `json:"not_before"`
	ExpiresOn *time.Time         `json:"expires_on"`
	Status    string             `json:"status"`
}

func (b *tokenBody) input() tokens.Input {
	in := tokens.Input{Name: b.Name, Policies: b.Policies, Condition: b.Condition, NotBefore: b.NotBefore,
		ExpiresOn: b.ExpiresOn, Status: b.Status}
	if in.Status == tokens.StatusExpired {
		in.Status = "" // clients re-send the derived status; keep the stored one
	}
	return in
}

// tokenOwner is whose tokens a token route is about: the account in the path, or the token's user.
func tokenOwner(r *http.Request) tokens.Owner {
	t := TargetFrom(r.Context())
	if t.AccountID != "" {
		return tokens.AccountOwner(t.AccountID)
	}
	return tokens.UserOwner(PrincipalFrom(r.Context()).Owner().UserID)
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	page, perPage, asc, err := paging(r, 20, 1, 50)
	if err != nil {
		return err
	}
	ts, total, err := s.Tokens.List(r.Context(), tokenOwner(r), tokens.Page{Page: page, PerPage: perPage, Ascending: asc})
	if err != nil {
		return err
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = toTokenJSON(t)
	}
	writeResult(w, out, newResultInfo(page, perPage, len(out), total))
	return nil
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var b tokenBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	in := b.input()
	t, secret, err := s.Tokens.Create(r.Context(), s.creator(r), tokenOwner(r), in)
	if err != nil {
		return err
	}
	out := toTokenJSON(t)
	out.Value = secret
	writeResult(w, out, nil)
	return nil
}

func (s *Server) handleTokenGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Tokens.Get(r.Context(), tokenOwner(r), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	writeResult(w, toTokenJSON(t), nil)
	return nil
}

func (s *Server) handleTokenUpdate(w http.ResponseWriter, r *http.Request) error {
	var b tokenBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	t, err := s.Tokens.Update(r.Context(), s.creator(r), tokenOwner(r), r.PathValue("token_id"), b.input())
	if err != nil {
		return err
	}
	writeResult(w, toTokenJSON(t), nil)
	return nil
}

func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("token_id")
	if err := s.Tokens.Delete(r.Context(), s.actor(r), tokenOwner(r), id); err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": id}, nil)
	return nil
}

func (s *Server) handleTokenRoll(w http.ResponseWriter, r *http.Request) error {
	var ignored map[string]any // the client sends no body; the spec says {}
	if err := decodeJSON(w, r, &ignored, true); err != nil {
		return err
	}
	secret, err := s.Tokens.Roll(r.Context(), s.creator(r), tokenOwner(r), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	writeResult(w, secret, nil)
	return nil
}

// verifyJSON is the result of the verify endpoints.
type verifyJSON struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	ExpiresOn *time.Time `json:"expires_on,omitempty"`
}

func (s *Server) handleTokenVerify(w http.ResponseWriter, r *http.Request) error {
	c := PrincipalFrom(r.Context()).Cred
	if aid := r.PathValue("account_id"); aid != "" && (c.Owner.Kind != tokens.OwnerAccount || c.Owner.AccountID != aid) {
		return newAPIError(http.StatusUnauthorized, 1000, "Invalid API Token")
	}
	out := verifyJSON{ID: c.ID, Status: tokens.StatusActive}
	if !c.NotBefore.IsZero() {
		out.NotBefore = &c.NotBefore
	}
	if !c.ExpiresOn.IsZero() {
		out.ExpiresOn = &c.ExpiresOn
	}
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []errorItem{},
		Messages: []message{{Code: 10000, Message: "This API Token is valid and active"}}, Result: out})
	return nil
}

// permissionGroupJSON is one entry of the permission_groups endpoints.
type permissionGroupJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
}

func (s *Server) handlePermissionGroups(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	account := TargetFrom(r.Context()).AccountID != ""
	out := []permissionGroupJSON{}
	for _, g := range authz.Groups() {
		if account && g.Scope == authz.ScopeUser {
			continue // account-owned tokens cannot hold user groups
		}
		if n := q.Get("name"); n != "" && n != g.Name {
			continue
		}
		if sc := q.Get("scope"); sc != "" && sc != g.Scope.Key() {
			continue
		}
		out = append(out, permissionGroupJSON{ID: g.ID, Name: g.Name, Description: g.Description, Scopes: []string{g.Scope.Key()}})
	}
	writeResult(w, out, nil)
	return nil
}
