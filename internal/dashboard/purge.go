package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// purgeKinds are the custom purge's choices, with their labels.
var purgeKinds = []struct {
	kind  purge.Kind
	label string
}{{purge.KindFiles, "URLs"}, {purge.KindTags, "Cache tags"}, {purge.KindHosts, "Hosts"}, {purge.KindPrefixes, "Prefixes"}}

// handlePurgePage shows the purge forms and the zone's purge history.
func (s *server) handlePurgePage(w http.ResponseWriter, r *http.Request) error {
	f := web.Form{Values: map[string]string{"kind": string(purge.KindFiles)}, Errors: map[string]string{}}
	return s.renderPurge(w, r, http.StatusOK, f)
}

func (s *server) renderPurge(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.CachePurge, "Purging the cache")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "purge")
	if err != nil {
		return err
	}
	page := pageParam(r)
	entries, total, err := s.Purge.List(r.Context(), p.Account.ID, z.ID, page, listPerPage)
	if err != nil {
		return err
	}
	v := web.PurgeView{Zone: hdr, Form: f, MaxItems: purge.MaxItems,
		Pagination: web.Pagination{Page: page, PerPage: listPerPage, Total: int64(total)}}
	for _, k := range purgeKinds {
		v.Kinds = append(v.Kinds, web.Option{Value: string(k.kind), Label: k.label, Selected: string(k.kind) == f.Value("kind")})
	}
	if page > 1 {
		v.Pagination.PrevURL = fmt.Sprintf("%s?page=%d", hdr.PurgeURL(), page-1)
	}
	if page*listPerPage < total {
		v.Pagination.NextURL = fmt.Sprintf("%s?page=%d", hdr.PurgeURL(), page+1)
	}
	names, err := s.actorNames(r.Context(), entries)
	if err != nil {
		return err
	}
	for _, e := range entries {
		v.Entries = append(v.Entries, web.PurgeEntry{Kind: string(e.Kind), Items: purgeItems(e.Items),
			Actor: names[e.ActorID], At: e.CreatedOn, AppliedAt: e.AppliedOn})
	}
	if v.Edge, err = s.edgeStatus(r.Context()); err != nil {
		return err
	}
	return s.render(w, r, status, web.Purge(s.page(w, r, "Cache purge · "+z.Name, "zones"), v))
}

// actorNames names who made each purge: a user by email, a token by id.
func (s *server) actorNames(ctx context.Context, es []purge.Entry) (map[string]string, error) {
	var ids []string
	for _, e := range es {
		if e.ActorType == audit.ActorUser {
			ids = append(ids, e.ActorID)
		}
	}
	users, err := store.UsersByID(s.DB.Gorm(ctx), ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range es {
		switch {
		case e.ActorType == audit.ActorUser && users[e.ActorID] != nil:
			out[e.ActorID] = users[e.ActorID].Email
		case e.ActorType == audit.ActorUser:
			out[e.ActorID] = "A removed user"
		case e.ActorType == audit.ActorToken:
			// An account-owned token, named as on the audit page; never a bare id.
			name, _, err := store.TokenActorNames(s.DB.Gorm(ctx), e.ActorID)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			out[e.ActorID] = cmp(name, "a deleted token") + " (account token)"
		default:
			out[e.ActorID] = e.ActorID
		}
	}
	return out, nil
}

// purgeItems turns a recorded purge's items (strings, or file objects) into lines to show.
func purgeItems(raw json.RawMessage) []string {
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		return strs
	}
	var files []purge.File
	if json.Unmarshal(raw, &files) != nil {
		return []string{string(raw)}
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.URL
		if len(f.Headers) > 0 {
			out[i] += fmt.Sprintf(" (%d headers)", len(f.Headers))
		}
	}
	return out
}

// handlePurgeCustom purges the URLs, tags, hosts or prefixes listed one per line. Bad input
// comes back beside the field, with the input kept, and nothing is recorded.
func (s *server) handlePurgeCustom(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, "kind", "items")
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.CachePurge, "Purging the cache")
	if err != nil {
		return err
	}
	var items []string
	for _, l := range strings.Split(f.Value("items"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			items = append(items, l)
		}
	}
	req := purge.Request{Kind: purge.Kind(f.Value("kind"))}
	switch req.Kind {
	case purge.KindFiles:
		for _, it := range items {
			req.Files = append(req.Files, purge.File{URL: it})
		}
	case purge.KindTags:
		req.Tags = items
	case purge.KindHosts:
		req.Hosts = items
	case purge.KindPrefixes:
		req.Prefixes = items
	default:
		f.Errors["kind"] = "Choose what to purge by."
		return s.renderPurge(w, r, http.StatusUnprocessableEntity, f)
	}
	entry, err := s.Purge.Purge(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, req)
	if err != nil {
		e := errs.As(err)
		if e == nil || e.Code != errs.Invalid {
			return err
		}
		// The service names the list or the item ("files[2]"): both belong to the textarea.
		f.Errors["items"] = itemError(e, items)
		return s.renderPurge(w, r, http.StatusUnprocessableEntity, f)
	}
	n := len(purgeItems(entry.Items)) // duplicates were dropped
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Purged %d %s from %s.", n, kindNoun(req.Kind, n), z.Name))
	redirect(w, r, "/zones/"+z.ID+"/purge")
	return nil
}

// itemError prefixes an item's error with its line number.
func itemError(e *errs.Error, items []string) string {
	_, idx, ok := strings.Cut(e.Field, "[")
	if !ok {
		return e.Message
	}
	n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
	if err != nil || n < 0 || n >= len(items) {
		return e.Message
	}
	return fmt.Sprintf("Line %d: %s", n+1, e.Message)
}

func kindNoun(k purge.Kind, n int) string {
	noun := map[purge.Kind]string{purge.KindFiles: "URL", purge.KindTags: "cache tag", purge.KindHosts: "host", purge.KindPrefixes: "prefix"}[k]
	if n == 1 {
		return noun
	}
	if k == purge.KindPrefixes {
		return "prefixes"
	}
	return noun + "s"
}

// handlePurgeEverythingConfirm asks to confirm purging the whole cache.
func (s *server) handlePurgeEverythingConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.CachePurge, "Purging the cache")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "purge")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, web.PurgeEverything(s.page(w, r, "Purge everything · "+z.Name, "zones"), web.PurgeConfirmView{Zone: hdr}))
}

// handlePurgeEverything purges the whole cache once confirmed.
func (s *server) handlePurgeEverything(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.CachePurge, "Purging the cache")
	if err != nil {
		return err
	}
	if _, err := s.Purge.Purge(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, purge.Request{Kind: purge.KindEverything}); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, "Purged everything from "+z.Name+".")
	redirect(w, r, "/zones/"+z.ID+"/purge")
	return nil
}
