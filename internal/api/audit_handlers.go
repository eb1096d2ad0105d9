package api

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/store"
)

// auditJSON is one audit log item in cloudflare-go's AuditLog shape. oldValueJson and
// newValueJson hold the values when they are JSON objects; oldValue and newValue hold them as
// text otherwise. actor.user_agent is Latchkey's addition.
type auditJSON struct {
	ID           string         `json:"id"`
	Action       auditAction    `json:"action"`
	Actor        auditActor     `json:"actor"`
	Interface    string         `json:"interface"`
	Owner        idOnly         `json:"owner"`
	Resource     auditResource  `json:"resource"`
	Metadata     map[string]any `json:"metadata"`
	OldValue     string         `json:"oldValue"`
	NewValue     string         `json:"newValue"`
	OldValueJSON map[string]any `json:"oldValueJson"`
	NewValueJSON map[string]any `json:"newValueJson"`
	When         time.Time      `json:"when"`
}

type auditAction struct {
	Type   string `json:"type"`
	Result bool   `json:"result"`
}

type auditActor struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	IP        string `json:"ip"`
	Type      string `json:"type"`
	UserAgent string `json:"user_agent"`
}

type auditResource struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func toAuditJSON(e *store.AuditEntry) auditJSON {
	out := auditJSON{ID: e.ID, Action: auditAction{Type: e.Action, Result: e.Result},
		Actor:     auditActor{ID: e.ActorID, Email: e.ActorEmail, IP: e.ActorIP, Type: e.ActorType, UserAgent: e.UserAgent},
		Interface: e.Interface, Resource: auditResource{ID: e.ResourceID, Type: e.ResourceType},
		Metadata: map[string]any{}, When: e.CreatedAt.UTC()}
	switch {
	case e.AccountID != nil:
		out.Owner.ID = *e.AccountID
	case e.OwnerUserID != nil:
		out.Owner.ID = *e.OwnerUserID
	}
	if e.ZoneID != "" {
		out.Metadata["zone_id"] = e.ZoneID
		out.Metadata["zone_name"] = e.ZoneName
	}
	// The token a change was made with: for a user-owned token the actor is its user, and these
	// say which of their keys it was; for an account-owned token they name the actor.
	if e.TokenID != "" {
		out.Metadata["token_id"] = e.TokenID
		out.Metadata["token_name"] = e.TokenName
	}
	if e.ResourceName != "" {
		out.Metadata["resource_name"] = e.ResourceName
	}
	out.OldValue, out.OldValueJSON = auditValue(e.OldValue)
	out.NewValue, out.NewValueJSON = auditValue(e.NewValue)
	return out
}

func auditValue(v *string) (string, map[string]any) {
	if v == nil {
		return "", nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(*v), &m) == nil {
		return "", m
	}
	return *v, nil
}

// auditFilter reads the filters and paging of API.md §4: id, actor.ip, actor.email,
// hide_user_logs, zone.name, action.type, direction (default desc), since, before (RFC 3339
// or YYYY-MM-DD), per_page (1..1000, default 100) and page. export=false is accepted;
// export=true (a CSV download) is refused, since Latchkey answers JSON only.
func auditFilter(r *http.Request) (store.AuditFilter, int, int, error) {
	var f store.AuditFilter
	page, perPage, asc, err := paging(r, 100, 1, 1000)
	if err != nil {
		return f, 0, 0, err
	}
	q := r.URL.Query()
	f.Ascending, f.Offset, f.Limit = asc, (page-1)*perPage, perPage
	if f.ID = q.Get("id"); f.ID != "" && len(f.ID) > 64 {
		return f, 0, 0, errs.InvalidField("id", "id is too long.")
	}
	if s := q.Get("actor.ip"); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return f, 0, 0, errs.InvalidField("actor.ip", "actor.ip must be an IP address.")
		}
		f.ActorIP = ip.Unmap().String()
	}
	f.ActorEmail = strings.ToLower(strings.TrimSpace(q.Get("actor.email")))
	f.ZoneName = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(q.Get("zone.name"))), ".")
	if s := q.Get("action.type"); s != "" {
		// The log's own action.type values ("token.create") match exactly; a bare verb
		// ("create") matches the actions that end with it.
		s = strings.ToLower(s)
		if len(s) > 64 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			return f, 0, 0, errs.InvalidField("action.type", "action.type is an action as the log shows it (token.create) or a verb (create, update, delete).")
		}
		if strings.Contains(s, ".") {
			f.Action = s
		} else {
			f.ActionType = s
		}
	}
	export := false
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"hide_user_logs", &f.HideUserLogs}, {"export", &export}} {
		if s := q.Get(b.name); s != "" {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return f, 0, 0, errs.InvalidField(b.name, "%s must be true or false.", b.name)
			}
			*b.dst = v
		}
	}
	if export {
		return f, 0, 0, errs.InvalidField("export", "export=true (a CSV export) is not supported: Latchkey answers the log as JSON; page through it instead.")
	}
	if f.Since, err = auditTime(q.Get("since"), "since"); err != nil {
		return f, 0, 0, err
	}
	if f.Before, err = auditTime(q.Get("before"), "before"); err != nil {
		return f, 0, 0, err
	}
	return f, page, perPage, nil
}

func auditTime(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), input.Time(field, t)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, input.Time(field, t)
	}
	return time.Time{}, errs.InvalidField(field, "%s must be an RFC 3339 time or a date (YYYY-MM-DD).", field)
}

func (s *Server) writeAudit(w http.ResponseWriter, r *http.Request, f store.AuditFilter, page, perPage int) error {
	es, total, err := store.ListAuditEntries(s.DB.Gorm(r.Context()), f)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(es))
	for i := range es {
		out[i] = toAuditJSON(&es[i])
	}
	writeResult(w, out, newResultInfo(page, perPage, len(out), total))
	return nil
}

func (s *Server) handleAccountAuditLogs(w http.ResponseWriter, r *http.Request) error {
	f, page, perPage, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.AccountID = TargetFrom(r.Context()).AccountID
	// What the token's owner may see bounds the log: a member limited to some zones does not
	// learn of the others here. (The token's own grants do not: a token for reading the log needs
	// only Account Settings Read.)
	acc := PrincipalFrom(r.Context()).Access
	f.LimitZones, f.Zones = acc.VisibleZones(f.AccountID)
	if f.LimitZones {
		// Nor of the account tokens beyond the member's access, which they do not see either.
		if f.HideTokens, err = s.Tokens.HiddenFrom(r.Context(), viewer(r), f.AccountID); err != nil {
			return err
		}
	}
	return s.writeAudit(w, r, f, page, perPage)
}

// handleUserAuditLogs lists what the token's user did (in the dashboard, or through any of their
// tokens), across accounts.
func (s *Server) handleUserAuditLogs(w http.ResponseWriter, r *http.Request) error {
	f, page, perPage, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.OwnerUserID = PrincipalFrom(r.Context()).Owner().UserID
	return s.writeAudit(w, r, f, page, perPage)
}
