package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// AuditFilter narrows ListAuditEntries. Exactly one of AccountID and OwnerUserID must be set.
type AuditFilter struct {
	AccountID   string
	OwnerUserID string
	ID          string
	ActorIP     string
	ActorEmail  string
	ZoneName    string
	Action      string
	// ActionType matches actions whose last part is it ("create" matches "zone.create").
	ActionType string
	// HideUserLogs leaves out what people did themselves (dashboard, sign-ins), keeping changes
	// made with API tokens.
	HideUserLogs bool
	Since        time.Time
	Before       time.Time
	// LimitZones keeps only entries about no zone or about a zone of the account in Zones: a
	// member limited to some zones of the account does not learn of the others through the log.
	// Old and new values then name the account's other zones as HiddenZoneID.
	LimitZones bool
	Zones      ZoneScope
	// HideTokens leaves out the entries about these API tokens: the account-owned tokens that
	// reach beyond what a member limited to some zones holds.
	HideTokens []string
	// Conds are further conditions on derived fields (audit logs v2), all of which must hold.
	Conds []AuditCond
	// After, when set, starts the page after this entry in the listing's order (cursor paging).
	After *AuditCursor
	// NoCount skips counting the matches (cursor paging needs no total).
	NoCount bool
	// Ascending orders oldest first; the default is newest first.
	Ascending     bool
	Offset, Limit int
}

// wholeAccount reports whether f selects every entry of one account (before paging).
func (f AuditFilter) wholeAccount() bool {
	return f.AccountID != "" && f.OwnerUserID == "" && f.ID == "" && f.ActorIP == "" && f.ActorEmail == "" &&
		f.ZoneName == "" && f.Action == "" && f.ActionType == "" && !f.HideUserLogs && f.Since.IsZero() &&
		f.Before.IsZero() && !f.LimitZones && len(f.HideTokens) == 0 && len(f.Conds) == 0 && f.After == nil
}

// AccountAuditCount returns the number of audit entries of accountID without reading them: the
// account's entries form one hash chain numbered from 1 without gaps (see audit_chain.go), of
// which retention prunes a prefix up to its checkpoint, so the count is the head's seq less the
// checkpoint's. Both rows are read by primary key.
func AccountAuditCount(tx *gorm.DB, accountID string) (int64, error) {
	chain := AccountAuditChain(accountID)
	var n []int64
	err := tx.Raw(`SELECT COALESCE((SELECT seq FROM audit_chains WHERE chain = ?), 0) - COALESCE((SELECT seq FROM audit_checkpoints WHERE chain = ?), 0)`,
		chain, chain).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count audit entries: %w", err)
	}
	if len(n) == 0 || n[0] < 0 {
		return 0, nil
	}
	return n[0], nil
}

// AuditField names a field of an audit entry that AuditCond can test: a column or a value
// derived from columns in the shape of Cloudflare's audit logs v2.
type AuditField string

// The fields AuditCond can test.
const (
	AuditID           AuditField = "id"
	AuditActorEmail   AuditField = "actor_email"
	AuditActorID      AuditField = "actor_id"
	AuditActorIP      AuditField = "actor_ip"
	AuditTokenID      AuditField = "token_id"
	AuditTokenName    AuditField = "token_name"
	AuditResourceID   AuditField = "resource_id"
	AuditResourceType AuditField = "resource_type"
	AuditZoneID       AuditField = "zone_id"
	AuditZoneName     AuditField = "zone_name"
	// AuditActionVerb is create, delete, login, logout or update (AuditVerb).
	AuditActionVerb AuditField = "action_verb"
	// AuditResult is success or failure.
	AuditResult AuditField = "result"
	// AuditActorKind is user, account (an account-owned token) or system.
	AuditActorKind AuditField = "actor_kind"
	// AuditActorContext is api_token (made with a token), dash (in the dashboard) or "".
	AuditActorContext AuditField = "actor_context"
	// AuditScope is zones (about a zone) or accounts.
	AuditScope AuditField = "scope"
)

// auditFieldSQL is the SQL of each AuditField. The derived ones must agree with AuditVerb and
// the API's mapping of entries.
var auditFieldSQL = map[AuditField]string{
	AuditID: "id", AuditActorEmail: "actor_email", AuditActorID: "actor_id", AuditActorIP: "actor_ip",
	AuditTokenID: "token_id", AuditTokenName: "token_name", AuditResourceID: "resource_id",
	AuditResourceType: "resource_type", AuditZoneID: "zone_id", AuditZoneName: "zone_name",
	AuditActionVerb: `(CASE WHEN action LIKE '%.create' OR action = 'user.signup' THEN 'create' ` +
		`WHEN action LIKE '%delete' THEN 'delete' WHEN action = 'user.signin' THEN 'login' ` +
		`WHEN action = 'user.signout' THEN 'logout' ELSE 'update' END)`,
	AuditResult:       "(CASE WHEN result THEN 'success' ELSE 'failure' END)",
	AuditActorKind:    "(CASE WHEN actor_type = 'token' THEN 'account' ELSE actor_type END)",
	AuditActorContext: "(CASE WHEN token_id <> '' THEN 'api_token' WHEN interface = 'dashboard' THEN 'dash' ELSE '' END)",
	AuditScope:        "(CASE WHEN zone_id <> '' THEN 'zones' ELSE 'accounts' END)",
}

// AuditVerb is the audit logs v2 action type of an action, as AuditActionVerb computes it.
func AuditVerb(action string) string {
	switch {
	case strings.HasSuffix(action, ".create") || action == "user.signup":
		return "create"
	case strings.HasSuffix(action, "delete"):
		return "delete"
	case action == "user.signin":
		return "login"
	case action == "user.signout":
		return "logout"
	}
	return "update"
}

// AuditCond keeps the entries whose Field is one of Values, or none of them when Not.
type AuditCond struct {
	Field  AuditField
	Values []string
	Not    bool
}

// AuditCursor is a position in an audit listing: the last entry of the previous page.
type AuditCursor struct {
	At time.Time
	ID string
}

// ListAuditEntries returns one page of entries matching f and the total count.
func ListAuditEntries(tx *gorm.DB, f AuditFilter) ([]AuditEntry, int64, error) {
	q := tx.Model(&AuditEntry{})
	switch {
	case f.AccountID != "":
		q = q.Where("account_id = ?", f.AccountID)
	case f.OwnerUserID != "":
		q = q.Where("owner_user_id = ?", f.OwnerUserID)
	default:
		return []AuditEntry{}, 0, nil
	}
	if f.ID != "" {
		q = q.Where("id = ?", f.ID)
	}
	if f.ActorIP != "" {
		q = q.Where("actor_ip = ?", f.ActorIP)
	}
	if f.ActorEmail != "" {
		q = q.Where("actor_email = ?", f.ActorEmail)
	}
	if f.ZoneName != "" {
		q = q.Where("zone_name = ?", f.ZoneName)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActionType != "" {
		q = q.Where(`action LIKE ? ESCAPE '\'`, "%."+escapeLike(f.ActionType))
	}
	if f.LimitZones {
		if !f.Zones.All && len(f.Zones.Only) == 0 {
			q = q.Where("zone_id = ''")
		} else {
			// The zone must still be one of the account's (an entry about a deleted zone is
			// hidden, as it cannot be shown to be visible): a primary key lookup per entry read,
			// never a read of the account's zones.
			q = q.Where("(zone_id = '' OR (? AND EXISTS (SELECT 1 FROM zones WHERE zones.id = audit_entries.zone_id AND zones.account_id = audit_entries.account_id)))",
				f.Zones.where(q, "audit_entries.zone_id"))
		}
	}
	if len(f.HideTokens) > 0 {
		q = q.Where("NOT (resource_type = ? AND resource_id IN ?)", "api_token", f.HideTokens)
	}
	if f.HideUserLogs {
		// A person's own actions (dashboard, sign-ins) are user logs; changes made with their
		// API tokens, though attributed to them, are not.
		q = q.Where("NOT (actor_type = ? AND token_id = '')", "user")
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Before.IsZero() {
		q = q.Where("created_at < ?", f.Before.UTC())
	}
	for _, c := range f.Conds {
		expr, ok := auditFieldSQL[c.Field]
		if !ok {
			return nil, 0, fmt.Errorf("unknown audit field %q", c.Field)
		}
		if c.Not {
			q = q.Where(expr+" NOT IN ?", c.Values)
		} else {
			q = q.Where(expr+" IN ?", c.Values)
		}
	}
	var total int64
	switch {
	case f.NoCount:
	case f.wholeAccount():
		// Every entry of the account: its chain's length, without reading the entries.
		n, err := AccountAuditCount(tx, f.AccountID)
		if err != nil {
			return nil, 0, err
		}
		total = n
	default:
		if err := q.Count(&total).Error; err != nil {
			return nil, 0, fmt.Errorf("count audit entries: %w", err)
		}
	}
	order := "created_at DESC, id DESC"
	if f.Ascending {
		order = "created_at, id"
	}
	if c := f.After; c != nil {
		if f.Ascending {
			q = q.Where("created_at > ? OR (created_at = ? AND id > ?)", c.At.UTC(), c.At.UTC(), c.ID)
		} else {
			q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", c.At.UTC(), c.At.UTC(), c.ID)
		}
	}
	q = q.Order(order).Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	es := []AuditEntry{}
	if err := q.Find(&es).Error; err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	if f.LimitZones && f.AccountID != "" && len(es) > 0 {
		if err := redactZones(tx, f.AccountID, f.Zones, es); err != nil {
			return nil, 0, err
		}
	}
	return es, total, nil
}

// HiddenZoneID stands, in the values of audit entries read by a member limited to some zones,
// for the id of a zone of the account they do not see (a token's policies, a member's scope).
const HiddenZoneID = "another-zone"

// redactZones replaces, in the old and new values of es, the id of every zone of accountID that
// is not in visible with HiddenZoneID. The stored entries (and their hash chain) are untouched.
// Only the zone ids that occur in the values are looked up (zone ids are NewID's 32 lower-case
// hex digits), so the cost is that of the page, not of the account's zones.
func redactZones(tx *gorm.DB, accountID string, visible ZoneScope, es []AuditEntry) error {
	seen := map[string]bool{}
	var cands []string
	for i := range es {
		for _, v := range []*string{es[i].OldValue, es[i].NewValue} {
			if v == nil {
				continue
			}
			for _, id := range hexWindows(*v) {
				if !seen[id] {
					seen[id] = true
					cands = append(cands, id)
				}
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	var found []string
	if err := tx.Model(&Zone{}).Where("account_id = ?", accountID).Where(InIDs(tx, "id", cands)).Pluck("id", &found).Error; err != nil {
		return fmt.Errorf("look up zone ids in audit values: %w", err)
	}
	var pairs []string
	for _, id := range found {
		if !visible.Contains(id) {
			pairs = append(pairs, id, HiddenZoneID)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	r := strings.NewReplacer(pairs...)
	for i := range es {
		for _, v := range []**string{&es[i].OldValue, &es[i].NewValue} {
			if *v != nil {
				s := r.Replace(**v)
				*v = &s
			}
		}
	}
	return nil
}

// hexWindows returns every substring of s of an id's length (32) made of lower-case hex digits:
// the only places an id made by NewID can occur.
func hexWindows(s string) []string {
	const n = 32
	var out []string
	run := 0 // length of the run of hex digits ending at i
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			run++
		} else {
			run = 0
		}
		if run >= n {
			out = append(out, s[i+1-n:i+1])
		}
	}
	return out
}

// ZoneScope is the set of one account's zones that a reader sees, in a form a query tests
// without listing the account's zones: with All, every zone of the account except Except;
// without it, the zones of the account among Only. Both lists are sorted and without
// duplicates; Only may name zones of other accounts, which select nothing here.
type ZoneScope struct {
	All    bool
	Except []string
	Only   []string
}

// Contains reports whether zone zoneID (of the account) is in s.
func (s ZoneScope) Contains(zoneID string) bool {
	if s.All {
		_, ok := slices.BinarySearch(s.Except, zoneID)
		return !ok
	}
	_, ok := slices.BinarySearch(s.Only, zoneID)
	return ok
}

// where returns the condition that column col holds an id in s, leaving to the caller the test
// that it is a zone of the account.
func (s ZoneScope) where(tx *gorm.DB, col string) clause.Expr {
	if s.All {
		return NotInIDs(tx, col, s.Except)
	}
	return InIDs(tx, col, s.Only)
}

// LatestAuditEntries returns, by resource id, the newest entry with the given action about each
// of the given resources of resourceType in one log (f.AccountID or f.OwnerUserID, whose indexes
// the query uses); resources without one are absent.
func LatestAuditEntries(tx *gorm.DB, f AuditFilter, action, resourceType string, resourceIDs []string) (map[string]AuditEntry, error) {
	out := map[string]AuditEntry{}
	switch {
	case f.AccountID != "":
		tx = tx.Where("account_id = ?", f.AccountID)
	case f.OwnerUserID != "":
		tx = tx.Where("owner_user_id = ?", f.OwnerUserID)
	default:
		return out, nil
	}
	for len(resourceIDs) > 0 {
		n := min(len(resourceIDs), 500)
		var es []AuditEntry
		err := tx.Session(&gorm.Session{}).Where("action = ? AND resource_type = ? AND resource_id IN ?", action, resourceType, resourceIDs[:n]).
			Order("created_at, id").Find(&es).Error
		if err != nil {
			return nil, fmt.Errorf("find latest %s entries: %w", action, err)
		}
		for _, e := range es {
			out[e.ResourceID] = e // ordered oldest first: the newest wins
		}
		resourceIDs = resourceIDs[n:]
	}
	return out, nil
}
