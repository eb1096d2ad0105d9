package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
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

// decodeToken reads a token body strictly: unknown fields inside policies and the condition are
// refused with a pointer to them (issue 8), since dropping them could change what the token may do.
func decodeToken(w http.ResponseWriter, r *http.Request, b *tokenBody) error {
	body, err := readBody(w, r, maxBody, errs.Invalid)
	if err != nil {
		return err
	}
	if err := authz.StrictToken(body); err != nil {
		var ve *authz.ValidationError
		if errors.As(err, &ve) {
			return errs.InvalidField(ve.Field, "%s", ve.Message).WithAPICode(6007)
		}
		return err
	}
	return decodeBytes(body, b, false)
}

// viewer is the user whose access caps what a request sees of an account's tokens and members:
// the user of a user-owned token, "" for an account-owned token (which sees its whole account).
func viewer(r *http.Request) string { return PrincipalFrom(r.Context()).Owner().UserID }

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
	ts, total, err := s.Tokens.ListFor(r.Context(), viewer(r), tokenOwner(r), tokens.Page{Page: page, PerPage: perPage, Ascending: asc})
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
	if err := decodeToken(w, r, &b); err != nil {
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
	t, err := s.Tokens.GetFor(r.Context(), viewer(r), tokenOwner(r), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	writeResult(w, toTokenJSON(t), nil)
	return nil
}

func (s *Server) handleTokenUpdate(w http.ResponseWriter, r *http.Request) error {
	var b tokenBody
	if err := decodeToken(w, r, &b); err != nil {
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
	if err := s.Tokens.DeleteAs(r.Context(), s.creator(r), tokenOwner(r), id); err != nil {
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

// verifiesHere reports whether the verify endpoint of r describes p's token: the user form does
// for every token (as handleTokenVerify), the account form only for the account's own tokens. Any
// other token is answered as an unknown one.
func verifiesHere(r *http.Request, p *tokens.Principal) bool {
	aid := r.PathValue("account_id")
	if aid == "" {
		return true
	}
	return p.Cred.Owner.Kind == tokens.OwnerAccount && p.Cred.Owner.AccountID == aid
}

// writeVerifyRefusal answers verify for a token whose secret is right but which cannot be used
// now, saying why (issue 8), where other endpoints would refuse it.
//
// Where this comes from: Cloudflare's verify result is {id, status, not_before, expires_on}, and
// its OpenAPI schema (as generated into cloudflare-python's TokenVerifyResponse and
// cloudflare-go's TokenVerifyResponse) defines status as one of "active", "disabled" and
// "expired". Cloudflare's verify answers a token it will not accept with 401 and code 1000
// "Invalid API Token", which clients match on (cloudflare-go maps it to an authorization error),
// so that code and status stay, with the reason added to the message and the token's verify
// result (id, status, not_before, expires_on) in result, so that a person running the curl line
// the dashboard gives sees what is wrong. A token refused for its client address gets what every
// other endpoint answers for it, Cloudflare's 403 with 9109 "Cannot use the access token from
// location: <ip>", with the result too (its status is active: only the address is wrong).
// Wrong, malformed or deleted secrets stay 401 1000 "Invalid API Token" with no result.
func (s *Server) writeVerifyRefusal(w http.ResponseWriter, p *tokens.Principal, err error) {
	c := p.Cred
	out := verifyResult(c)
	now := s.Now()
	status, code, msg := http.StatusUnauthorized, 1000, "Invalid API Token"
	switch {
	case c.Status != tokens.StatusActive:
		out.Status = tokens.StatusDisabled
		msg += ": this token is disabled"
	case !c.ExpiresOn.IsZero() && !now.Before(c.ExpiresOn):
		out.Status = tokens.StatusExpired
		msg += ": this token expired at " + c.ExpiresOn.UTC().Format(time.RFC3339)
	case !c.NotBefore.IsZero() && now.Before(c.NotBefore):
		msg += ": this token is not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
	default:
		status, code, msg = http.StatusForbidden, 9109, errs.MessageOf(err)
	}
	writeJSON(w, status, envelope{Errors: []errorItem{{Code: code, Message: msg}}, Messages: []message{}, Result: out})
}

func verifyResult(c *tokens.Credential) verifyJSON {
	out := verifyJSON{ID: c.ID, Status: tokens.StatusActive}
	if !c.NotBefore.IsZero() {
		out.NotBefore = &c.NotBefore
	}
	if !c.ExpiresOn.IsZero() {
		out.ExpiresOn = &c.ExpiresOn
	}
	return out
}

func (s *Server) handleTokenVerify(w http.ResponseWriter, r *http.Request) error {
	c := PrincipalFrom(r.Context()).Cred
	if aid := r.PathValue("account_id"); aid != "" && (c.Owner.Kind != tokens.OwnerAccount || c.Owner.AccountID != aid) {
		return newAPIError(http.StatusUnauthorized, 1000, "Invalid API Token")
	}
	// The answer depends on the credential alone (a token that may be used now is active), so it
	// is encoded once per cached credential.
	writeJSONBytes(w, http.StatusOK, c.Body(func() []byte { return verifyBody(c) }))
	return nil
}

// verifyBody encodes the verify endpoints' answer for a usable credential.
func verifyBody(c *tokens.Credential) []byte {
	return encodeJSON(envelope{Success: true, Errors: []errorItem{},
		Messages: []message{{Code: 10000, Message: "This API Token is valid and active"}}, Result: verifyResult(c)})
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
