package dashboard

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// auditFilterFields are the audit log's filter parameters.
var auditFilterFields = []string{"action", "actor_email", "actor_ip", "zone", "since", "until"}

// csvBatch is how many entries the CSV export reads at a time.
const csvBatch = 500

// auditFilter reads the filter parameters of r into a store filter for accountID. Bad values
// are reported in the returned form, beside their fields.
func auditFilter(r *http.Request, accountID string) (store.AuditFilter, web.Form) {
	q := r.URL.Query()
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, n := range auditFilterFields {
		f.Values[n] = strings.TrimSpace(q.Get(n))
	}
	af := store.AuditFilter{AccountID: accountID, Action: f.Value("action"), ActorEmail: strings.ToLower(f.Value("actor_email")),
		ActorIP: f.Value("actor_ip"), ZoneName: strings.TrimSuffix(strings.ToLower(f.Value("zone")), ".")}
	day := func(name string) time.Time {
		v := f.Value(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Errors[name] = "Enter a date like 2025-01-31."
		}
		return t
	}
	af.Since = day("since")
	if until := day("until"); !until.IsZero() {
		af.Before = until.Add(24 * time.Hour) // the whole day is included
	}
	if !af.Since.IsZero() && !af.Before.IsZero() && !af.Since.Before(af.Before) {
		f.Errors["until"] = "The end date is before the start date."
	}
	return af, f
}

// limitAuditZones keeps a member limited to some zones from reading entries about the others.
func (s *server) limitAuditZones(r *http.Request, p *principal, af *store.AuditFilter) error {
	acc, err := tokens.UserAccess(s.DB.Gorm(r.Context()), p.User.ID)
	if err != nil {
		return err
	}
	if af.LimitZones, af.Zones = acc.VisibleZones(af.AccountID); !af.LimitZones {
		return nil
	}
	// Nor about the account tokens beyond their access, which they do not see either.
	af.HideTokens, err = s.Tokens.HiddenFrom(r.Context(), p.User.ID, af.AccountID)
	return err
}

// filterQuery encodes the filter form's non-empty values.
func filterQuery(f web.Form) url.Values {
	q := url.Values{}
	for _, n := range auditFilterFields {
		if v := f.Value(n); v != "" {
			q.Set(n, v)
		}
	}
	return q
}

// handleAuditList shows a page of the account's audit log, filtered, with the state of the
// account's hash chain.
func (s *server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsRead, "Seeing the audit log")
	if err != nil {
		return err
	}
	af, f := auditFilter(r, acct.ID)
	if err := s.limitAuditZones(r, p, &af); err != nil {
		return err
	}
	q := filterQuery(f)
	v := web.AuditView{AccountName: acct.Name, Filter: f, Filtered: len(q) > 0, CSVURL: "/audit.csv", Base: "/audit"}
	if len(q) > 0 {
		v.CSVURL += "?" + q.Encode()
	}
	if v.Chain, err = s.chainStatus(r, store.AccountAuditChain(acct.ID)); err != nil {
		return err
	}
	return s.renderAuditLog(w, r, v, af, q, "Audit log", "audit")
}

// handleActivityList shows the signed-in user's own log ("My activity"): their sign-ins, their
// tokens' lifecycle, their profile and two-factor changes, and their changes in any account.
func (s *server) handleActivityList(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	af, f := auditFilter(r, "")
	af.OwnerUserID = p.User.ID
	q := filterQuery(f)
	v := web.AuditView{Filter: f, Filtered: len(q) > 0, Mine: true, Base: "/profile/activity"}
	var err error
	if v.Chain, err = s.chainStatus(r, store.UserAuditChain(p.User.ID)); err != nil {
		return err
	}
	return s.renderAuditLog(w, r, v, af, q, "My activity", "activity")
}

// chainStatus verifies chain incrementally for the page.
func (s *server) chainStatus(r *http.Request, chain string) (web.ChainStatus, error) {
	st, err := audit.CheckChain(r.Context(), s.DB, chain, audit.Key(s.Config.SessionKey), s.Now())
	if err != nil {
		return web.ChainStatus{}, err
	}
	out := web.ChainStatus{Checked: true, VerifiedUpTo: st.VerifiedUpTo}
	if st.Break != nil {
		if st.Break.EntryID != "" {
			out.Broken = fmt.Sprintf("entry %s: %s", st.Break.EntryID, st.Break.Reason)
		} else {
			out.Broken = st.Break.Reason
		}
	}
	return out, nil
}

// renderAuditLog lists one page of the entries af selects into v.
func (s *server) renderAuditLog(w http.ResponseWriter, r *http.Request, v web.AuditView, af store.AuditFilter, q url.Values, title, section string) error {
	status := http.StatusOK
	page := pageParam(r)
	if len(v.Filter.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		af.Offset, af.Limit = (page-1)*listPerPage, listPerPage
		es, total, err := store.ListAuditEntries(s.DB.Gorm(r.Context()), af)
		if err != nil {
			return err
		}
		v.Pagination = web.Pagination{Page: page, PerPage: listPerPage, Total: total}
		pageURL := func(n int) string {
			q.Set("page", strconv.Itoa(n))
			return v.Base + "?" + q.Encode()
		}
		if page > 1 {
			v.Pagination.PrevURL = pageURL(page - 1)
		}
		if int64(page*listPerPage) < total {
			v.Pagination.NextURL = pageURL(page + 1)
		}
		names, err := s.tokenNames(r, es)
		if err != nil {
			return err
		}
		for _, e := range es {
			v.Entries = append(v.Entries, auditEntryView(e, names, v.Base))
		}
	}
	return s.render(w, r, status, web.Audit(s.page(w, r, title, section), v))
}

// tokenNames finds the names (and owners' emails) of the tokens that made entries written before
// entries named their token, so that no row shows a bare token id.
func (s *server) tokenNames(r *http.Request, es []store.AuditEntry) (map[string][2]string, error) {
	out := map[string][2]string{}
	for _, e := range es {
		if e.ActorType == audit.ActorToken && e.TokenName == "" && e.ActorID != "" {
			if _, ok := out[e.ActorID]; ok {
				continue
			}
			name, email, err := store.TokenActorNames(s.DB.Gorm(r.Context()), e.ActorID)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			out[e.ActorID] = [2]string{name, email}
		}
	}
	return out, nil
}

func auditEntryView(e store.AuditEntry, names map[string][2]string, base string) web.AuditEntry {
	return web.AuditEntry{ID: e.ID, At: e.CreatedAt, Actor: actorLabel(e, names), ActorType: e.ActorType, Interface: e.Interface,
		IP: e.ActorIP, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, ResourceName: e.ResourceName,
		ZoneName: e.ZoneName, OK: e.Result, Base: base}
}

// actorLabel names an entry's actor for people: "token name (owner email)" for a change made with
// a user's token, "token name (account token)" for an account-owned token, the person's email,
// or the system's name. names holds the names of tokens older entries did not record.
func actorLabel(e store.AuditEntry, names map[string][2]string) string {
	tokenName := e.TokenName
	if e.ActorType == audit.ActorToken && tokenName == "" {
		n := names[e.ActorID]
		tokenName = n[0]
		if e.ActorEmail == "" {
			e.ActorEmail = n[1]
		}
	}
	if tokenName == "" && (e.TokenID != "" || e.ActorType == audit.ActorToken) {
		tokenName = "a deleted token"
	}
	switch {
	case tokenName != "" && e.ActorEmail != "":
		return tokenName + " (" + e.ActorEmail + ")"
	case tokenName != "":
		return tokenName + " (account token)"
	case e.ActorEmail != "":
		return e.ActorEmail
	case e.ActorID != "":
		return e.ActorID
	}
	return "Anonymous"
}

// handleAuditEntry shows one entry of the current account with its old and new values.
func (s *server) handleAuditEntry(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsRead, "Seeing the audit log")
	if err != nil {
		return err
	}
	af := store.AuditFilter{AccountID: acct.ID}
	if err := s.limitAuditZones(r, p, &af); err != nil {
		return err
	}
	return s.renderAuditEntry(w, r, af, "/audit", "audit")
}

// handleActivityEntry shows one entry of the signed-in user's own log.
func (s *server) handleActivityEntry(w http.ResponseWriter, r *http.Request) error {
	return s.renderAuditEntry(w, r, store.AuditFilter{OwnerUserID: principalFrom(r).User.ID}, "/profile/activity", "activity")
}

// renderAuditEntry shows the entry named in the path among those af selects; any other is 404.
func (s *server) renderAuditEntry(w http.ResponseWriter, r *http.Request, af store.AuditFilter, base, section string) error {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "audit entry not found")
	}
	af.ID, af.Limit = id, 1
	es, _, err := store.ListAuditEntries(s.DB.Gorm(r.Context()), af)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return errs.E(errs.NotFound, "audit entry not found")
	}
	e := es[0]
	names, err := s.tokenNames(r, es)
	if err != nil {
		return err
	}
	v := web.AuditDetailView{Entry: auditEntryView(e, names, base), UserAgent: e.UserAgent, Old: prettyJSON(e.OldValue),
		New: prettyJSON(e.NewValue), BackURL: base}
	if e.TokenID != "" {
		v.Token = e.TokenName + " (" + e.TokenID + ")"
	}
	return s.render(w, r, http.StatusOK, web.AuditDetail(s.page(w, r, "Audit entry "+e.Action, section), v))
}

// prettyJSON indents a stored JSON value; "" for none.
func prettyJSON(s *string) string {
	if s == nil || *s == "" || *s == "null" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(*s), "", "  "); err != nil {
		return *s
	}
	return buf.String()
}

// auditCSVHeader is the first row of the CSV export.
var auditCSVHeader = []string{"id", "time", "actor_type", "actor_id", "actor_email", "actor_ip", "user_agent", "interface",
	"action", "resource_type", "resource_id", "zone_id", "zone_name", "result", "old_value", "new_value",
	"token_id", "token_name", "resource_name", "seq", "hash"}

// handleAuditCSV streams every entry the filters select as CSV, newest first. It reads in
// batches below a fixed upper time bound, so entries written during the export neither appear
// nor shift the pages.
func (s *server) handleAuditCSV(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	acct, err := s.accountPage(r, p, authz.AccountSettingsRead, "Exporting the audit log")
	if err != nil {
		return err
	}
	af, f := auditFilter(r, acct.ID)
	if err := s.limitAuditZones(r, p, &af); err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		for _, n := range auditFilterFields {
			if msg := f.ErrorFor(n); msg != "" {
				return errs.E(errs.Invalid, "The %s filter is not valid: %s", n, msg)
			}
		}
	}
	// Entries carry the wall clock's time (audit.Record), so the bound does too: with a test
	// clock frozen in the past, s.Now would cut off every entry written since.
	if now := time.Now().UTC().Add(time.Second); af.Before.IsZero() || af.Before.After(now) {
		af.Before = now
	}
	// Read the first batch before answering, so a failing database still gets an error page.
	af.Limit = csvBatch
	es, _, err := store.ListAuditEntries(s.DB.Gorm(r.Context()), af)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("latchkey-audit-%s.csv", s.Now().UTC().Format("20060102-150405"))
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	if err := cw.Write(auditCSVHeader); err != nil {
		return nil // the client went away
	}
	for {
		for _, e := range es {
			if err := cw.Write(auditCSVRow(e)); err != nil {
				return nil
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil || len(es) < csvBatch {
			return nil
		}
		af.Offset += csvBatch
		if es, _, err = store.ListAuditEntries(s.DB.Gorm(r.Context()), af); err != nil {
			// Headers are sent: the truncated file is all that can be done; log why.
			s.Logger.ErrorContext(r.Context(), "audit CSV export failed", slog.Any("error", err))
			return nil
		}
	}
}

func auditCSVRow(e store.AuditEntry) []string {
	result := "success"
	if !e.Result {
		result = "failure"
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	row := []string{e.ID, e.CreatedAt.UTC().Format(time.RFC3339Nano), e.ActorType, e.ActorID, e.ActorEmail, e.ActorIP, e.UserAgent,
		e.Interface, e.Action, e.ResourceType, e.ResourceID, e.ZoneID, e.ZoneName, result, deref(e.OldValue), deref(e.NewValue),
		e.TokenID, e.TokenName, e.ResourceName, "", deref(e.Hash)}
	if e.Seq != nil {
		row[len(row)-2] = strconv.FormatInt(*e.Seq, 10)
	}
	for i, c := range row {
		row[i] = neutralizeFormula(c)
	}
	return row
}

// neutralizeFormula prefixes a cell that a spreadsheet would run as a formula (=, +, -, @, tab,
// carriage return first) with a single quote, so an attacker-chosen value such as a user agent
// cannot execute when the export is opened.
func neutralizeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
