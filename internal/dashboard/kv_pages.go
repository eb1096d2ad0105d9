package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/kv"
	"github.com/latchkey/latchkey/web"
)

// kvKeysPerPage is how many keys a namespace page lists.
const kvKeysPerPage = 50

// kvAccount checks that the user may use perm on the current account's KV namespaces (on the
// account as a whole): one who may not even read them gets 404, one who may read but not
// change them 403.
func (s *server) kvAccount(r *http.Request, p *principal, perm authz.Perm) error {
	if p.Account == nil {
		return errs.E(errs.NotFound, "page not found")
	}
	return s.kvAllowed(r, p, perm, authz.Account(p.Account.ID), "page not found")
}

func (s *server) kvAllowed(r *http.Request, p *principal, perm authz.Perm, res authz.Resource, notFound string) error {
	ok, err := s.can(r, p, perm, res)
	if err != nil || ok {
		return err
	}
	if perm != authz.KVRead {
		if ok, err := s.can(r, p, authz.KVRead, res); err != nil {
			return err
		} else if ok {
			return errs.E(errs.Forbidden, "Changing Workers KV needs the %s permission, which your role does not include.", perm.Group().Name)
		}
	}
	return errs.E(errs.NotFound, "%s", notFound)
}

// kvNamespace loads the namespace in the path for perm, checked on that namespace (so a grant
// limited to some namespaces reaches only them). Another account's namespace, or one the user
// may not read, is 404.
func (s *server) kvNamespace(r *http.Request, p *principal, perm authz.Perm) (*kv.Namespace, error) {
	if p.Account == nil {
		return nil, errs.E(errs.NotFound, "namespace not found")
	}
	n, err := s.KV.Namespace(r.Context(), p.Account.ID, r.PathValue("ns"))
	if err != nil {
		return nil, err
	}
	if err := s.kvAllowed(r, p, perm, authz.KVNamespace(p.Account.ID, n.ID), "namespace not found"); err != nil {
		return nil, err
	}
	return n, nil
}

func newForm() web.Form { return web.Form{Values: map[string]string{}, Errors: map[string]string{}} }

// handleKVList lists the account's namespaces.
func (s *server) handleKVList(w http.ResponseWriter, r *http.Request) error {
	return s.renderKVList(w, r, http.StatusOK, newForm())
}

func (s *server) renderKVList(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	if err := s.kvAccount(r, p, authz.KVRead); err != nil {
		return err
	}
	canWrite, err := s.can(r, p, authz.KVWrite, authz.Account(p.Account.ID))
	if err != nil {
		return err
	}
	page := pageParam(r)
	ns, pg, err := s.KV.ListNamespaces(r.Context(), p.Account.ID, kv.NamespaceListParams{Order: "title", Page: page, PerPage: listPerPage})
	if err != nil {
		return err
	}
	v := web.KVListView{CanWrite: canWrite, Form: f, Pagination: web.Pagination{Page: page, PerPage: listPerPage, Total: pg.TotalCount}}
	for _, n := range ns {
		v.Namespaces = append(v.Namespaces, web.KVNamespaceRow{ID: n.ID, Title: n.Title})
	}
	if page > 1 {
		v.Pagination.PrevURL = "/kv?page=" + strconv.Itoa(page-1)
	}
	if int64(page*listPerPage) < pg.TotalCount {
		v.Pagination.NextURL = "/kv?page=" + strconv.Itoa(page+1)
	}
	return s.render(w, r, status, web.KVNamespaces(s.page(w, r, "Workers KV", "kv"), v))
}

// handleKVCreate creates a namespace; a bad or taken title comes back beside the field.
func (s *server) handleKVCreate(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "title")
	if err != nil {
		return err
	}
	if err := s.kvAccount(r, p, authz.KVWrite); err != nil {
		return err
	}
	n, err := s.KV.CreateNamespace(r.Context(), s.actor(r, p.User), p.Account.ID, f.Value("title"))
	if err == nil {
		s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Created the namespace %s.", n.Title))
		redirect(w, r, "/kv/"+n.ID)
		return nil
	}
	if !fieldError(&f, err, "title") {
		return err
	}
	return s.renderKVList(w, r, http.StatusUnprocessableEntity, f)
}

// handleKVNamespace shows a namespace's keys.
func (s *server) handleKVNamespace(w http.ResponseWriter, r *http.Request) error {
	return s.renderKVNamespace(w, r, http.StatusOK, newForm(), web.Form{})
}

// renderKVNamespace renders the namespace page with the put form put and the rename form rename
// (a zero rename form shows the current title).
func (s *server) renderKVNamespace(w http.ResponseWriter, r *http.Request, status int, put, rename web.Form) error {
	p := principalFrom(r)
	n, err := s.kvNamespace(r, p, authz.KVRead)
	if err != nil {
		return err
	}
	canWrite, err := s.can(r, p, authz.KVWrite, authz.KVNamespace(p.Account.ID, n.ID))
	if err != nil {
		return err
	}
	if rename.Values == nil {
		rename = web.Form{Values: map[string]string{"title": n.Title}, Errors: map[string]string{}}
	}
	row := web.KVNamespaceRow{ID: n.ID, Title: n.Title}
	q := r.URL.Query()
	prefix, cursor := q.Get("prefix"), q.Get("cursor")
	keys, pg, err := s.KV.ListKeys(r.Context(), p.Account.ID, n.ID, kv.KeyListParams{Prefix: prefix, Cursor: cursor, Limit: kvKeysPerPage})
	if err != nil {
		if e := errs.As(err); e != nil && e.Code == errs.Invalid {
			// A bad cursor or prefix in the address: start over rather than fail the page.
			keys, pg, err = s.KV.ListKeys(r.Context(), p.Account.ID, n.ID, kv.KeyListParams{Limit: kvKeysPerPage})
			prefix, cursor = "", ""
		}
		if err != nil {
			return err
		}
	}
	v := web.KVNamespaceView{Namespace: row, Prefix: prefix, CanWrite: canWrite, PutForm: put, RenameForm: rename}
	for _, k := range keys {
		kr := web.KVKeyRow{Name: k.Name, URL: row.URL() + "/key?key=" + url.QueryEscape(k.Name), Expires: expiresLabel(k.Expiration)}
		if len(k.Metadata) > 0 {
			kr.Metadata = string(k.Metadata)
		}
		v.Keys = append(v.Keys, kr)
	}
	listURL := func(c string) string {
		u := url.Values{}
		if prefix != "" {
			u.Set("prefix", prefix)
		}
		if c != "" {
			u.Set("cursor", c)
		}
		if len(u) == 0 {
			return row.URL()
		}
		return row.URL() + "?" + u.Encode()
	}
	if pg.Cursor != "" {
		v.NextURL = listURL(pg.Cursor)
	}
	if cursor != "" {
		v.FirstURL = listURL("")
	}
	return s.render(w, r, status, web.KVNamespace(s.page(w, r, n.Title+" · Workers KV", "kv"), v))
}

func expiresLabel(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format("2 Jan 2006 15:04 UTC")
}

// handleKVRename renames a namespace; a bad or taken title comes back beside the field.
func (s *server) handleKVRename(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "title")
	if err != nil {
		return err
	}
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	out, err := s.KV.RenameNamespace(r.Context(), s.actor(r, p.User), p.Account.ID, n.ID, f.Value("title"))
	if err == nil {
		s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Renamed the namespace to %s.", out.Title))
		redirect(w, r, "/kv/"+n.ID)
		return nil
	}
	if !fieldError(&f, err, "title") {
		return err
	}
	return s.renderKVNamespace(w, r, http.StatusUnprocessableEntity, newForm(), f)
}

// handleKVDeleteConfirm asks to confirm deleting a namespace.
func (s *server) handleKVDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	row := web.KVNamespaceRow{ID: n.ID, Title: n.Title}
	v := web.KVConfirmView{Namespace: row, Action: row.URL() + "/delete", CancelURL: row.URL()}
	return s.render(w, r, http.StatusOK, web.KVConfirm(s.page(w, r, "Delete "+n.Title, "kv"), v))
}

// handleKVDelete deletes a namespace with its keys.
func (s *server) handleKVDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	if err := s.KV.DeleteNamespace(r.Context(), s.actor(r, p.User), p.Account.ID, n.ID); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Deleted the namespace %s.", n.Title))
	redirect(w, r, "/kv")
	return nil
}

var kvPutFields = []string{"key", "value", "expiration", "expiration_ttl", "metadata"}

// handleKVPut stores a value; bad input comes back beside its field with the input kept.
func (s *server) handleKVPut(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, kvPutFields...)
	if err != nil {
		return err
	}
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	wr := kv.Write{Key: f.Value("key"), Value: []byte(f.Value("value"))}
	for _, name := range []string{"expiration", "expiration_ttl"} {
		v := strings.TrimSpace(f.Value(name))
		if v == "" {
			continue
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil || x <= 0 {
			f.Errors[name] = "Enter a whole number of seconds."
			continue
		}
		if name == "expiration" {
			wr.Expiration = x
		} else {
			wr.ExpirationTTL = x
		}
	}
	if m := strings.TrimSpace(f.Value("metadata")); m != "" {
		if !json.Valid([]byte(m)) {
			f.Errors["metadata"] = "Metadata must be valid JSON."
		}
		wr.Metadata = json.RawMessage(m)
	}
	if len(f.Errors) == 0 {
		err = s.KV.Put(r.Context(), s.actor(r, p.User), p.Account.ID, n.ID, wr)
		if err == nil {
			s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Stored %s.", wr.Key))
			redirect(w, r, "/kv/"+n.ID)
			return nil
		}
		if !fieldError(&f, err, kvPutFields...) {
			return err
		}
	}
	return s.renderKVNamespace(w, r, http.StatusUnprocessableEntity, f, web.Form{})
}

// handleKVKey shows one key's value and metadata.
func (s *server) handleKVKey(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	n, err := s.kvNamespace(r, p, authz.KVRead)
	if err != nil {
		return err
	}
	key := r.URL.Query().Get("key")
	e, err := s.KV.Get(r.Context(), p.Account.ID, n.ID, key)
	if err != nil {
		if x := errs.As(err); x != nil && x.Code == errs.Invalid {
			return errs.E(errs.NotFound, "key not found")
		}
		return err
	}
	canWrite, err := s.can(r, p, authz.KVWrite, authz.KVNamespace(p.Account.ID, n.ID))
	if err != nil {
		return err
	}
	row := web.KVNamespaceRow{ID: n.ID, Title: n.Title}
	v := web.KVKeyView{Namespace: row, Key: e.Key, Size: len(e.Value), Expires: expiresLabel(e.Expiration), CanWrite: canWrite,
		DeleteURL: row.URL() + "/key/delete?key=" + url.QueryEscape(e.Key)}
	if utf8.Valid(e.Value) {
		v.Value = string(e.Value)
	} else {
		v.Binary = true
	}
	if len(e.Metadata) > 0 {
		v.Metadata = string(e.Metadata)
	}
	return s.render(w, r, http.StatusOK, web.KVKey(s.page(w, r, e.Key+" · "+n.Title, "kv"), v))
}

// handleKVKeyDeleteConfirm asks to confirm deleting a key.
func (s *server) handleKVKeyDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	key := r.URL.Query().Get("key")
	if err := kv.ValidKey(key); err != nil {
		return errs.E(errs.NotFound, "key not found")
	}
	row := web.KVNamespaceRow{ID: n.ID, Title: n.Title}
	v := web.KVConfirmView{Namespace: row, Key: key, Action: row.URL() + "/key/delete?key=" + url.QueryEscape(key),
		CancelURL: row.URL() + "/key?key=" + url.QueryEscape(key)}
	return s.render(w, r, http.StatusOK, web.KVConfirm(s.page(w, r, "Delete key · "+n.Title, "kv"), v))
}

// handleKVKeyDelete deletes a key.
func (s *server) handleKVKeyDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	n, err := s.kvNamespace(r, p, authz.KVWrite)
	if err != nil {
		return err
	}
	key := r.URL.Query().Get("key")
	if err := s.KV.Delete(r.Context(), s.actor(r, p.User), p.Account.ID, n.ID, key); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Deleted %s.", key))
	redirect(w, r, "/kv/"+n.ID)
	return nil
}
