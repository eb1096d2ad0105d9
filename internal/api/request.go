package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/tokens"
)

// maxBody bounds JSON request bodies.
const maxBody = 1 << 20

// decodeJSON reads a JSON body into v. An empty body is allowed when emptyOK. A body a locator
// already read (Target.Body) is decoded instead of r.Body.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	if t := TargetFrom(r.Context()); t != nil && t.Body != nil {
		return decodeBytes(t.Body, v, emptyOK)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return bodyError(err)
	}
	return decodeBytes(body, v, emptyOK)
}

// readBody reads the request body for a locator, within maxBody.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, bodyError(err)
	}
	if body == nil {
		body = []byte{}
	}
	return body, nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errs.E(errs.Invalid, "The request body is larger than %d bytes.", maxBody)
	}
	return errs.E(errs.Invalid, "Could not read the request body.")
}

// decodeBytes decodes a JSON body into v, with errors that name the offending field.
func decodeBytes(body []byte, v any, emptyOK bool) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		if emptyOK {
			return nil
		}
		return errs.E(errs.Invalid, "The request body must be a JSON object.").WithAPICode(6007)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errs.InvalidField(te.Field, "%s has the wrong type: expected %s.", te.Field, te.Type.String()).WithAPICode(6007)
		}
		return errs.E(errs.Invalid, "Malformed JSON in request body: %v", err).WithAPICode(6007)
	}
	return nil
}

// paging reads page and per_page (defaults 1 and def, per_page limited to lo..hi) and direction.
func paging(r *http.Request, def, lo, hi int) (page, perPage int, ascending bool, err error) {
	q := r.URL.Query()
	page, perPage = 1, def
	if s := q.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			return 0, 0, false, errs.InvalidField("page", "page must be a whole number from 1.")
		}
	}
	if s := q.Get("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil || perPage < lo || perPage > hi {
			return 0, 0, false, errs.InvalidField("per_page", "per_page must be a whole number from %d to %d.", lo, hi)
		}
	}
	switch strings.ToLower(q.Get("direction")) {
	case "", "desc":
	case "asc":
		ascending = true
	default:
		return 0, 0, false, errs.InvalidField("direction", "direction must be asc or desc.")
	}
	if page > 1_000_000 {
		return 0, 0, false, errs.InvalidField("page", "page is too large.")
	}
	return page, perPage, ascending, nil
}

// actor describes the principal of r for the audit log.
func (s *Server) actor(r *http.Request) audit.Actor {
	p := PrincipalFrom(r.Context())
	a := audit.Actor{Type: audit.ActorToken, IP: s.IPs.IP(r).String(), UserAgent: r.UserAgent(), Interface: audit.InterfaceAPI}
	if p != nil {
		a.ID = p.TokenID()
		a.UserID = p.Owner().UserID
	}
	return a
}

// creator describes the principal of r as the creator of a token: capped by its own policies and,
// for a user-owned token, by its user's current access.
func (s *Server) creator(r *http.Request) tokens.Creator {
	p := PrincipalFrom(r.Context())
	return tokens.Creator{Actor: s.actor(r), UserID: p.Owner().UserID, Parent: p}
}
