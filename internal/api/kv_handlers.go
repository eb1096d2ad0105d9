package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/kv"
)

// Body limits of the KV routes: a value, a bulk write (100 MiB of values, base64 grows them by a
// third, plus JSON framing) and a bulk delete (10,000 keys of 512 bytes, escaped).
const (
	maxValueBody      = kv.MaxValueBytes + 64<<10
	maxBulkWriteBody  = kv.MaxBulkBytes*4/3 + 16<<20
	maxBulkDeleteBody = 8 << 20
	// maxBulkToken bounds one value as a bulk body spells it: base64 of the largest value.
	maxBulkToken = kv.MaxValueBytes*4/3 + 64<<10
)

// handleKVNamespaceList lists the namespaces the credential may read: all of the account's for
// an account-wide grant, only the named ones for a namespace-limited token (filtered and paged in
// the database). A credential that may read none gets the usual 403.
func (s *Server) handleKVNamespaceList(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	pr := PrincipalFrom(r.Context())
	visible := pr.Namespaces(authz.KVRead, t.AccountID)
	if visible.Empty() {
		d := pr.Decide(authz.KVRead, authz.Account(t.AccountID))
		return denial(10000, d.Perm, d.Resource.Key(), d.Reason())
	}
	p := kv.NamespaceListParams{Order: r.URL.Query().Get("order"), Direction: r.URL.Query().Get("direction"), Visible: &visible}
	var err error
	if p.Page, err = queryInt(r, "page"); err != nil {
		return err
	}
	if p.PerPage, err = queryInt(r, "per_page"); err != nil {
		return err
	}
	if p.Page < 0 {
		return errs.InvalidField("page", "page counts from 1.")
	}
	ns, pg, err := s.KV.ListNamespaces(r.Context(), t.AccountID, p)
	if err != nil {
		return err
	}
	writeResult(w, ns, &ResultInfo{Page: pg.Page, PerPage: pg.PerPage, Count: pg.Count,
		TotalCount: int(pg.TotalCount), TotalPages: int(pg.TotalPages)})
	return nil
}

type titleBody struct {
	Title *string `json:"title"`
}

func (b titleBody) title() string {
	if b.Title == nil {
		return ""
	}
	return *b.Title
}

func (s *Server) handleKVNamespaceCreate(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b titleBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	n, err := s.KV.CreateNamespace(r.Context(), s.actor(r), t.AccountID, b.title())
	if err != nil {
		return err
	}
	writeResult(w, n, nil)
	return nil
}

func (s *Server) handleKVNamespaceGet(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	n, err := s.KV.Namespace(r.Context(), t.AccountID, r.PathValue("namespace_id"))
	if err != nil {
		return err
	}
	writeResult(w, n, nil)
	return nil
}

func (s *Server) handleKVNamespaceRename(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b titleBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	n, err := s.KV.RenameNamespace(r.Context(), s.actor(r), t.AccountID, r.PathValue("namespace_id"), b.title())
	if err != nil {
		return err
	}
	writeResult(w, n, nil)
	return nil
}

func (s *Server) handleKVNamespaceDelete(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	if err := s.KV.DeleteNamespace(r.Context(), s.actor(r), t.AccountID, r.PathValue("namespace_id")); err != nil {
		return err
	}
	writeResult(w, map[string]any{}, nil)
	return nil
}

// kvKeyListResponse is the envelope of a key listing: its result_info is {count, cursor}.
type kvKeyListResponse struct {
	Success    bool        `json:"success"`
	Errors     []errorItem `json:"errors"`
	Messages   []message   `json:"messages"`
	Result     []kv.Key    `json:"result"`
	ResultInfo kv.KeyPage  `json:"result_info"`
}

func (s *Server) handleKVKeyList(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	p := kv.KeyListParams{Prefix: r.URL.Query().Get("prefix"), Cursor: r.URL.Query().Get("cursor")}
	var err error
	if p.Limit, err = queryInt(r, "limit"); err != nil {
		return err
	}
	keys, pg, err := s.KV.ListKeys(r.Context(), t.AccountID, r.PathValue("namespace_id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, kvKeyListResponse{Success: true, Errors: []errorItem{}, Messages: []message{}, Result: keys, ResultInfo: pg})
	return nil
}

// queryInt64 reads an optional whole-number query parameter.
func queryInt64(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errs.InvalidField(name, "%s must be a whole number of seconds.", name)
	}
	return n, nil
}

// handleKVPut stores one value: the raw body (cloudflare-go's octet-stream), or a multipart form
// with a "value" part and an optional JSON "metadata" part. ?expiration= and ?expiration_ttl=
// set an expiry.
func (s *Server) handleKVPut(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	wr := kv.Write{Key: r.PathValue("key")}
	var err error
	if wr.Expiration, err = queryInt64(r, "expiration"); err != nil {
		return err
	}
	if wr.ExpirationTTL, err = queryInt64(r, "expiration_ttl"); err != nil {
		return err
	}
	if err := kv.ValidKey(wr.Key); err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		if err := readKVMultipart(w, r, &wr); err != nil {
			return err
		}
	} else {
		body, err := readBody(w, r, maxValueBody, errs.TooLarge)
		if err != nil {
			return err
		}
		wr.Value = body
	}
	if err := s.KV.Put(r.Context(), s.actor(r), t.AccountID, r.PathValue("namespace_id"), wr); err != nil {
		return err
	}
	writeResult(w, map[string]any{}, nil)
	return nil
}

// readKVMultipart reads the "value" and "metadata" parts of a multipart PUT into wr.
func readKVMultipart(w http.ResponseWriter, r *http.Request, wr *kv.Write) error {
	limit := int64(maxValueBody + kv.MaxMetadataBytes + 64<<10)
	// The parts are read whole; reading one of unknown size may take twice its size on the way.
	if err := bodylimit.Reserve(r, 3*bodylimit.Declared(r, limit)); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return errs.E(errs.Invalid, "The multipart body is malformed.")
	}
	gotValue := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return &errs.Error{Code: errs.TooLarge, Field: "value", Message: "The request body is too large."}
			}
			return errs.E(errs.Invalid, "The multipart body is malformed.")
		}
		var limit int64
		switch part.FormName() {
		case "value":
			limit = kv.MaxValueBytes
		case "metadata":
			limit = 64 << 10
		default:
			part.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		part.Close()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return &errs.Error{Code: errs.TooLarge, Field: "value", Message: "The request body is too large."}
			}
			return errs.E(errs.Invalid, "The multipart body is malformed.")
		}
		if part.FormName() == "value" {
			if int64(len(b)) > limit {
				return &errs.Error{Code: errs.TooLarge, Field: "value",
					Message: fmt.Sprintf("A value has at most %d bytes (25 MiB).", kv.MaxValueBytes)}
			}
			wr.Value, gotValue = b, true
		} else {
			if int64(len(b)) > limit {
				return &errs.Error{Code: errs.TooLarge, Field: "metadata", Message: "The metadata part is too large."}
			}
			wr.Metadata = b
		}
	}
	if !gotValue {
		return errs.InvalidField("value", "The multipart body needs a \"value\" part.")
	}
	return nil
}

// handleKVGet answers the raw value, without an envelope, as upstream. Errors are enveloped.
func (s *Server) handleKVGet(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	e, err := s.KV.Get(r.Context(), t.AccountID, r.PathValue("namespace_id"), r.PathValue("key"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(e.Value)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Expiration != 0 {
		h.Set("Expiration", strconv.FormatInt(e.Expiration, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.Value)
	return nil
}

// handleKVMetadata answers the metadata of a key (null when it has none).
func (s *Server) handleKVMetadata(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	e, err := s.KV.Get(r.Context(), t.AccountID, r.PathValue("namespace_id"), r.PathValue("key"))
	if err != nil {
		return err
	}
	var md any
	if e.Metadata != nil {
		md = e.Metadata
	}
	writeResult(w, md, nil)
	return nil
}

func (s *Server) handleKVDelete(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	if err := s.KV.Delete(r.Context(), s.actor(r), t.AccountID, r.PathValue("namespace_id"), r.PathValue("key")); err != nil {
		return err
	}
	writeResult(w, map[string]any{}, nil)
	return nil
}

// handleKVBulkWrite stores a JSON array of pairs in one transaction. The body is decoded pair by
// pair as it arrives, so that only the decoded values are kept, never the whole body. It reserves
// of the server's body budget the body's size (what the values take, decoded) plus three times
// one value's largest encoding (the decoder's buffer, which may hold twice a value, and the value
// as a string), before reading.
func (s *Server) handleKVBulkWrite(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	d := bodylimit.Declared(r, maxBulkWriteBody)
	if err := bodylimit.Reserve(r, d+3*min(d, maxBulkToken)); err != nil {
		return err
	}
	b := s.KV.NewBatch(r.PathValue("namespace_id"))
	if err := decodeBulk(http.MaxBytesReader(w, r.Body, maxBulkWriteBody), b); err != nil {
		return err
	}
	if err := s.KV.WriteBatch(r.Context(), s.actor(r), t.AccountID, b); err != nil {
		return err
	}
	writeResult(w, map[string]any{"successful_key_count": b.Pairs(), "unsuccessful_keys": []string{}}, nil)
	return nil
}

// decodeBulk reads a JSON array of kv.BulkPair from rd into b, one pair at a time.
func decodeBulk(rd io.Reader, b *kv.Batch) error {
	dec := json.NewDecoder(rd)
	fail := func(err error) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) {
			return jsonError(err)
		}
		return bodyError(err, maxBulkWriteBody, errs.TooLarge)
	}
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "The request body is empty; it must be JSON.").WithAPICode(6007)
	case err != nil:
		return fail(err)
	case tok == nil: // null: no pairs
	case tok != json.Delim('['):
		return errs.E(errs.Invalid, "The request body has the wrong type: expected an array.").WithAPICode(6007)
	default:
		for dec.More() {
			var bp kv.BulkPair
			if err := dec.Decode(&bp); err != nil {
				return fail(err)
			}
			if err := b.Add(bp); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fail(err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errs.E(errs.Invalid, "Malformed JSON in request body: data after the array").WithAPICode(6007)
		}
		return fail(err)
	}
	return nil
}

// handleKVBulkDelete deletes a JSON array of keys in one transaction (DELETE /bulk, the form
// cloudflare-go v0.119 sends, and POST /bulk/delete, upstream's newer one).
func (s *Server) handleKVBulkDelete(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	body, err := readBody(w, r, maxBulkDeleteBody, errs.TooLarge)
	if err != nil {
		return err
	}
	var keys []string
	if err := decodeBytes(body, &keys, false); err != nil {
		return err
	}
	if err := s.KV.BulkDelete(r.Context(), s.actor(r), t.AccountID, r.PathValue("namespace_id"), keys); err != nil {
		return err
	}
	writeResult(w, map[string]any{"successful_key_count": len(keys), "unsuccessful_keys": []string{}}, nil)
	return nil
}

// kvBulkGetBody is the body of POST …/bulk/get.
type kvBulkGetBody struct {
	Keys         []string `json:"keys"`
	Type         *string  `json:"type"`
	WithMetadata *bool    `json:"withMetadata"`
}

// kvBulkGetValue is one value of a bulk read with metadata.
type kvBulkGetValue struct {
	Value      any             `json:"value"`
	Metadata   json.RawMessage `json:"metadata"`
	Expiration int64           `json:"expiration,omitempty"`
}

// handleKVBulkGet reads up to 100 keys (cloudflare-go v4's Namespaces.BulkGet): the result is
// {"values": {key: value}}, a missing key's value null. type "text" (the default) answers each
// value as a string, "json" parses it; withMetadata answers {value, metadata, expiration} per
// key. Values that are not UTF-8 text (or, for "json", not JSON) are refused naming the key,
// as upstream refuses them.
func (s *Server) handleKVBulkGet(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b kvBulkGetBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	asJSON := false
	if b.Type != nil {
		switch *b.Type {
		case "text":
		case "json":
			asJSON = true
		default:
			return errs.InvalidField("type", "type is \"text\" or \"json\".")
		}
	}
	withMeta := b.WithMetadata != nil && *b.WithMetadata
	es, err := s.KV.BulkGet(r.Context(), t.AccountID, r.PathValue("namespace_id"), b.Keys)
	if err != nil {
		return err
	}
	values := make(map[string]any, len(b.Keys))
	for i, k := range b.Keys {
		e := es[i]
		if e == nil {
			values[k] = nil
			continue
		}
		if !utf8.Valid(e.Value) {
			return errs.InvalidField(fmt.Sprintf("keys[%d]", i), "The value of %q is not UTF-8 text; read it with GET …/values/{key}.", k)
		}
		var v any = string(e.Value)
		if asJSON {
			var raw json.RawMessage
			if err := json.Unmarshal(e.Value, &raw); err != nil {
				return errs.InvalidField(fmt.Sprintf("keys[%d]", i), "The value of %q is not JSON; read it with type \"text\".", k)
			}
			v = raw
		}
		if withMeta {
			md := e.Metadata
			if md == nil {
				md = json.RawMessage("null")
			}
			v = kvBulkGetValue{Value: v, Metadata: md, Expiration: e.Expiration}
		}
		values[k] = v
	}
	writeResult(w, map[string]any{"values": values}, nil)
	return nil
}
