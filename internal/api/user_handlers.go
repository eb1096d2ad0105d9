package api

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// userJSON is the user object of API.md §4.
type userJSON struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	FirstName  string    `json:"first_name"`
	LastName   string    `json:"last_name"`
	Username   string    `json:"username"`
	Telephone  string    `json:"telephone"`
	Country    string    `json:"country"`
	Zipcode    string    `json:"zipcode"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
	TwoFA      bool      `json:"two_factor_authentication_enabled"`
	Betas      []string  `json:"betas"`
}

func toUserJSON(u *store.User) userJSON {
	return userJSON{ID: u.ID, TwoFA: u.TwoFactorEnabled(), Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Telephone: u.Telephone,
		Country: u.Country, Zipcode: u.Zipcode, CreatedOn: u.CreatedAt.UTC(), ModifiedOn: u.UpdatedAt.UTC(), Betas: []string{}}
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Accounts.User(r.Context(), PrincipalFrom(r.Context()).Owner().UserID)
	if err != nil {
		return err
	}
	writeResult(w, toUserJSON(u), nil)
	return nil
}

// userPatchBody is what PATCH /user changes. cloudflare-go re-sends the fields it read (id,
// email, created_on…): they are ignored, except that an email different from the current one is
// refused, because an address changes only after confirming it in the dashboard.
type userPatchBody struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Telephone *string `json:"telephone"`
	Country   *string `json:"country"`
	Zipcode   *string `json:"zipcode"`
	Email     *string `json:"email"`
}

func (s *Server) handleUserPatch(w http.ResponseWriter, r *http.Request) error {
	var b userPatchBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	id := PrincipalFrom(r.Context()).Owner().UserID
	if b.Email != nil {
		u, err := s.Accounts.User(r.Context(), id)
		if err != nil {
			return err
		}
		if e, err := accounts.NormalizeEmail(*b.Email); err != nil || e != u.Email {
			return errs.InvalidField("email", "The email address cannot be changed through the API; change it in the dashboard.").WithAPICode(1001)
		}
	}
	u, err := s.Accounts.UpdateProfile(r.Context(), s.actor(r), id, accounts.ProfileUpdate{
		FirstName: b.FirstName, LastName: b.LastName, Telephone: b.Telephone, Country: b.Country, Zipcode: b.Zipcode})
	if err != nil {
		return err
	}
	writeResult(w, toUserJSON(u), nil)
	return nil
}
