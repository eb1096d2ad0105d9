package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

// maxBody bounds JSON request bodies. It is a sanity bound, not a quota, so a longer body is
// invalid input (400); the KV routes, whose larger limits are documented quotas, answer 413.
const maxBody = 1 << 20

// decodeJSON reads a JSON body into v. An empty body is allowed when emptyOK. A body a locator
// already read (Target.Body) is decoded instead of r.Body.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	body, err := readBody(w, r, maxBody, errs.Invalid)
	if err != nil {
		return err
	}
	return decodeBytes(body, v, emptyOK)
}

// readBody is the one way the API reads a request body: at most limit bytes, and a longer body
// is an error with code over (errs.Invalid for JSON documents within maxBody, errs.TooLarge for
// KV values and bulk bodies). Before reading, it reserves twice the body's declared size (or
// twice limit when none is declared) of the server's body budget: the bytes and what is decoded
// or sent to the database from them; over budget it answers 429 without reading. A body a locator
// already read (Target.Body) is returned instead of reading r.Body again. w may be nil, as in
// locators. The result is never nil, so that a body that was read (and is empty) can be told from
// one that was not.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, over errs.Code) ([]byte, error) {
	if t := TargetFrom(r.Context()); t != nil && t.Body != nil {
		return t.Body, nil
	}
	if err := bodylimit.Reserve(r, 2*bodylimit.Declared(r, limit)); err != nil {
		return nil, err
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= limit {
		// The server stops a body at its declared length: read it into one buffer of that size
		// rather than growing one by doubling.
		body = make([]byte, n)
		_, err = io.ReadFull(rd, body)
	} else {
		body, err = io.ReadAll(rd)
	}
	if err != nil {
		return nil, bodyError(err, limit, over)
	}
	if body == nil {
		body = []byte{}
	}
	return body, nil
}

// bodyError turns an error reading a body of at most limit bytes into the API's error: over the
// limit is code over, over the server's body budget is that error, anything else is Invalid.
func bodyError(err error, limit int64, over errs.Code) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errs.E(over, "The request body is larger than %d bytes.", limit)
	}
	if e := errs.As(err); e != nil && (e.Code == errs.TooManyRequests || e.Code == errs.TooLarge) {
		return e
	}
	return errs.E(errs.Invalid, "Could not read the request body.")
}

// decodeBytes decodes a JSON body into v, with errors that name the offending field.
func decodeBytes(body []byte, v any, emptyOK bool) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		if emptyOK {
			return nil
		}
		return errs.E(errs.Invalid, "The request body is empty; it must be JSON.").WithAPICode(6007)
	}
	if err := input.JSON(body); err != nil {
		return errs.As(err).WithAPICode(6007)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(err)
	}
	return input.Times(v)
}

// checkRequestText refuses a path or query string that holds text no database may store (NUL,
// invalid UTF-8), before anything reads it: filters, ids and cursors are all covered.
func checkRequestText(r *http.Request) error {
	if err := input.Text("path", r.URL.Path); err != nil {
		return errs.E(errs.Invalid, "The request path is not UTF-8 text without NUL characters.")
	}
	if r.URL.RawQuery == "" {
		return nil // no parameters: nothing to parse into a map
	}
	return input.Values(r.URL.Query())
}

// jsonError turns an error decoding JSON into the API's error, naming the offending field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errs.InvalidField(te.Field, "%s has the wrong type: expected %s.", te.Field, jsonKind(te.Type)).WithAPICode(6007)
	}
	if errors.As(err, &te) {
		return errs.E(errs.Invalid, "The request body has the wrong type: expected %s.", jsonKind(te.Type)).WithAPICode(6007)
	}
	return errs.E(errs.Invalid, "Malformed JSON in request body: %v", err).WithAPICode(6007)
}

// jsonKind names the JSON value a Go type decodes from, so that errors speak JSON rather than
// naming the API's internal types.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

// paging reads page and per_page (defaults 1 and def, per_page clamped into lo..hi) and direction.
func paging(r *http.Request, def, lo, hi int) (page, perPage int, ascending bool, err error) {
	q := r.URL.Query()
	page, perPage = 1, def
	if s := q.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			return 0, 0, false, errs.InvalidField("page", "page must be a whole number from 1.")
		}
	}
	if s := q.Get("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil {
			return 0, 0, false, errs.InvalidField("per_page", "per_page must be a whole number.")
		}
		// A size outside lo..hi is clamped, never refused, as Cloudflare does (certbot asks
		// /zones for per_page=1); result_info.per_page says what was used.
		perPage = min(max(perPage, lo), hi)
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

// actor describes the principal of r for the audit log. A change made with a user-owned token is
// its user's (type user, the user's id and email) and names the token used; a change made with an
// account-owned token is the token's, by id and name.
func (s *Server) actor(r *http.Request) audit.Actor {
	p := PrincipalFrom(r.Context())
	a := audit.Actor{Type: audit.ActorToken, IP: s.IPs.IP(r).String(), UserAgent: r.UserAgent(), Interface: audit.InterfaceAPI}
	if p == nil {
		return a
	}
	a.ID, a.TokenID = p.TokenID(), p.TokenID()
	a.UserID = p.Owner().UserID
	name, email, err := store.TokenActorNames(s.DB.Gorm(r.Context()), a.TokenID)
	if err != nil {
		s.Logger.WarnContext(r.Context(), "cannot name the token for the audit log", slog.String("token_id", a.TokenID), slog.Any("error", err))
	}
	a.TokenName = name
	if a.UserID != "" {
		a.Type, a.ID, a.Email = audit.ActorUser, a.UserID, email
	}
	return a
}

// creator describes the principal of r as the creator of a token: capped by its own policies and,
// for a user-owned token, by its user's current access.
func (s *Server) creator(r *http.Request) tokens.Creator {
	p := PrincipalFrom(r.Context())
	return tokens.Creator{Actor: s.actor(r), UserID: p.Owner().UserID, Parent: p}
}
