package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
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
	// LimitZones keeps only entries about no zone or about one of Zones: a member limited to
	// some zones of the account does not learn of the others through the log.
	LimitZones bool
	Zones      []string
	// Ascending orders oldest first; the default is newest first.
	Ascending     bool
	Offset, Limit int
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
		if len(f.Zones) == 0 {
			q = q.Where("zone_id = ''")
		} else {
			q = q.Where("zone_id = '' OR zone_id IN ?", f.Zones)
		}
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
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	order := "created_at DESC, id DESC"
	if f.Ascending {
		order = "created_at, id"
	}
	q = q.Order(order).Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	es := []AuditEntry{}
	if err := q.Find(&es).Error; err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	return es, total, nil
}

// VisibleZones says which zones of accountID an audit reader may see: all (limit false) when
// sees accepts the stand-in id "*", which only grants over every zone of the account match;
// otherwise the ids of the account's zones that sees accepts.
func VisibleZones(tx *gorm.DB, accountID string, sees func(zoneID string) bool) (limit bool, ids []string, err error) {
	if sees("*") {
		return false, nil, nil
	}
	var all []string
	if err := tx.Model(&Zone{}).Where("account_id = ?", accountID).Pluck("id", &all).Error; err != nil {
		return false, nil, fmt.Errorf("list zone ids of account: %w", err)
	}
	for _, id := range all {
		if sees(id) {
			ids = append(ids, id)
		}
	}
	return true, ids, nil
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
