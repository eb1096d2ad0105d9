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
	af.LimitZones, af.Zones, err = store.VisibleZones(s.DB.Gorm(r.Context()), af.AccountID, func(z string) bool {
		return acc.SeesZone(af.AccountID, z)
	})
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

// handleAuditList shows a page of the account's audit log, filtered.
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
	v := web.AuditView{AccountName: acct.Name, Filter: f, Filtered: len(q) > 0, CSVURL: "/audit.csv"}
	if len(q) > 0 {
		v.CSVURL += "?" + q.Encode()
	}
	status := http.StatusOK
	page := pageParam(r)
	if len(f.Errors) > 0 {
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
			return "/audit?" + q.Encode()
		}
		if page > 1 {
			v.Pagination.PrevURL = pageURL(page - 1)
		}
		if int64(page*listPerPage) < total {
			v.Pagination.NextURL = pageURL(page + 1)
		}
		for _, e := range es {
			v.Entries = append(v.Entries, auditEntryView(e))
		}
	}
	return s.render(w, r, status, web.Audit(s.page(w, r, "Audit log", "audit"), v))
}

func auditEntryView(e store.AuditEntry) web.AuditEntry {
	return web.AuditEntry{ID: e.ID, At: e.CreatedAt, Actor: actorLabel(e), ActorType: e.ActorType, Interface: e.Interface,
		IP: e.ActorIP, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, ZoneName: e.ZoneName, OK: e.Result}
}

// actorLabel names an entry's actor: the user's email, or the token's or system's id.
func actorLabel(e store.AuditEntry) string {
	switch {
	case e.ActorEmail != "" && e.ActorType == audit.ActorToken:
		return e.ActorEmail + " (token " + e.ActorID + ")"
	case e.ActorEmail != "":
		return e.ActorEmail
	case e.ActorType == audit.ActorToken:
		return "API token " + e.ActorID
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
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "audit entry not found")
	}
	af := store.AuditFilter{AccountID: acct.ID, ID: id, Limit: 1}
	if err := s.limitAuditZones(r, p, &af); err != nil {
		return err
	}
	es, _, err := store.ListAuditEntries(s.DB.Gorm(r.Context()), af)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return errs.E(errs.NotFound, "audit entry not found")
	}
	e := es[0]
	v := web.AuditDetailView{Entry: auditEntryView(e), UserAgent: e.UserAgent, Old: prettyJSON(e.OldValue),
		New: prettyJSON(e.NewValue), BackURL: "/audit"}
	return s.render(w, r, http.StatusOK, web.AuditDetail(s.page(w, r, "Audit entry "+e.Action, "audit"), v))
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
	"action", "resource_type", "resource_id", "zone_id", "zone_name", "result", "old_value", "new_value"}

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
	if now := s.Now().UTC().Add(time.Second); af.Before.IsZero() || af.Before.After(now) {
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
		e.Interface, e.Action, e.ResourceType, e.ResourceID, e.ZoneID, e.ZoneName, result, deref(e.OldValue), deref(e.NewValue)}
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
