package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Kinds of the change feed (internal/changefeed) that the edge follows.
const (
	// EdgeChangePurge announces a cache purge; the subject is the purge request's id.
	EdgeChangePurge = "edge.purge"
	// EdgeChangeFirewall announces that an account's IP access rules changed (zone or account
	// scope); the subject is the account id.
	EdgeChangeFirewall = "edge.firewall"
)

// PurgeRequestByID returns a recorded purge by id alone, for the edge, which applies purges of
// every account.
func PurgeRequestByID(tx *gorm.DB, id string) (*PurgeRequest, error) {
	var p PurgeRequest
	if err := tx.Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, notFound(err, "purge request")
	}
	return &p, nil
}

// MarkPurgeApplied records that an edge process applied the purge id at at; the latest time wins.
func MarkPurgeApplied(tx *gorm.DB, id string, at time.Time) error {
	err := tx.Model(&PurgeRequest{}).Where("id = ? AND (applied_at IS NULL OR applied_at < ?)", id, at).
		Update("applied_at", at).Error
	if err != nil {
		return fmt.Errorf("mark purge applied: %w", err)
	}
	return nil
}

// EdgeNode is a running edge process, as its heartbeat last described it.
type EdgeNode struct {
	ID        string `gorm:"primaryKey"`
	Addr      string
	GeoIP     bool `gorm:"column:geoip"`
	StartedAt time.Time
	SeenAt    time.Time
}

// TableName names the table of EdgeNode.
func (EdgeNode) TableName() string { return "edge_nodes" }

// TouchEdgeNode inserts or refreshes n's heartbeat row.
func TouchEdgeNode(tx *gorm.DB, n *EdgeNode) error {
	res := tx.Model(&EdgeNode{}).Where("id = ?", n.ID).Updates(map[string]any{"seen_at": n.SeenAt, "addr": n.Addr, "geoip": n.GeoIP})
	if res.Error != nil {
		return fmt.Errorf("refresh edge node: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		if err := tx.Create(n).Error; err != nil {
			return fmt.Errorf("register edge node: %w", err)
		}
	}
	return nil
}

// DeleteEdgeNode removes a stopped edge process's row, and rows not seen since before.
func DeleteEdgeNode(tx *gorm.DB, id string, before time.Time) error {
	if err := tx.Where("id = ? OR seen_at < ?", id, before).Delete(&EdgeNode{}).Error; err != nil {
		return fmt.Errorf("delete edge node: %w", err)
	}
	return nil
}

// LiveEdgeNodes returns the edge processes seen at or after since.
func LiveEdgeNodes(tx *gorm.DB, since time.Time) ([]EdgeNode, error) {
	ns := []EdgeNode{}
	if err := tx.Where("seen_at >= ?", since).Order("started_at, id").Find(&ns).Error; err != nil {
		return nil, fmt.Errorf("list edge nodes: %w", err)
	}
	return ns, nil
}

// EdgeTraffic is one flush of one zone-minute of edge traffic counts.
type EdgeTraffic struct {
	ID             string `gorm:"primaryKey"`
	ZoneID         string
	Minute         int64
	Requests       int64
	Bytes          int64
	CachedRequests int64
	CachedBytes    int64
	Threats        int64
	Status         string
	Countries      string
	ThreatRules    string
	Uniques        string
}

// TableName names the table of EdgeTraffic.
func (EdgeTraffic) TableName() string { return "edge_traffic" }

// InsertEdgeTraffic writes rows in one statement batch.
func InsertEdgeTraffic(tx *gorm.DB, rows []EdgeTraffic) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return fmt.Errorf("record edge traffic: %w", err)
	}
	return nil
}

// EdgeTrafficRows returns the zone's traffic rows with since <= minute < until (Unix seconds),
// ordered by minute.
func EdgeTrafficRows(tx *gorm.DB, zoneID string, since, until int64) ([]EdgeTraffic, error) {
	rows := []EdgeTraffic{}
	err := tx.Where("zone_id = ? AND minute >= ? AND minute < ?", zoneID, since, until).Order("minute, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read edge traffic: %w", err)
	}
	return rows, nil
}

// PruneEdgeTraffic deletes traffic rows of zones on plan (all zones when plan is "") older than
// before (Unix seconds), and returns how many it deleted.
func PruneEdgeTraffic(tx *gorm.DB, plan string, before int64) (int64, error) {
	q := tx.Where("minute < ?", before)
	if plan != "" {
		q = q.Where("zone_id IN (?)", tx.Model(&Zone{}).Select("id").Where("plan = ?", plan))
	}
	res := q.Delete(&EdgeTraffic{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune edge traffic: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// EdgeZone is what the edge needs to know about a zone that serves a host.
type EdgeZone struct {
	ID        string
	AccountID string
	Name      string
	Paused    bool
	Plan      string
}

// EdgeZoneForHost finds the zone that serves host (lower-case, no port, no trailing dot): the
// zone with the longest name that equals host or is a suffix of it at a label boundary. When
// several accounts hold a zone of that name, the oldest active one wins. ok is false when no zone
// serves host.
func EdgeZoneForHost(tx *gorm.DB, host string) (z EdgeZone, ok bool, err error) {
	var names []string
	for h := host; h != ""; {
		names = append(names, h)
		_, rest, found := cutLabel(h)
		if !found {
			break
		}
		h = rest
	}
	if len(names) == 0 {
		return z, false, nil
	}
	var zs []Zone
	if err := tx.Where("name IN ?", names).Order("created_at, id").Find(&zs).Error; err != nil {
		return z, false, fmt.Errorf("find zone for host: %w", err)
	}
	best := -1
	for i, c := range zs {
		if best < 0 || len(c.Name) > len(zs[best].Name) ||
			(len(c.Name) == len(zs[best].Name) && c.Status == "active" && zs[best].Status != "active") {
			best = i
		}
	}
	if best < 0 {
		return z, false, nil
	}
	b := zs[best]
	return EdgeZone{ID: b.ID, AccountID: b.AccountID, Name: b.Name, Paused: b.Paused, Plan: b.Plan}, true, nil
}

func cutLabel(h string) (label, rest string, ok bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == '.' {
			return h[:i], h[i+1:], true
		}
	}
	return h, "", false
}

// EdgeOriginRecords returns the zone's proxied A, AAAA and CNAME records named name, or, when
// there are none, those of the wildcard that covers name ("*." + its parent), ordered by id.
func EdgeOriginRecords(tx *gorm.DB, zoneID, name string) ([]DNSRecord, error) {
	names := []string{name}
	if _, parent, ok := cutLabel(name); ok && parent != "" {
		names = append(names, "*."+parent)
	}
	var rs []DNSRecord
	err := tx.Where("zone_id = ? AND name IN ? AND type IN ? AND proxied = ?", zoneID, names, []string{"A", "AAAA", "CNAME"}, true).
		Order("id").Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("find origin records: %w", err)
	}
	var exact, wild []DNSRecord
	for _, r := range rs {
		if r.Name == name {
			exact = append(exact, r)
		} else {
			wild = append(wild, r)
		}
	}
	if len(exact) > 0 {
		return exact, nil
	}
	return wild, nil
}

// EdgeAccessRules returns every IP access rule of accountID at account scope and at the scope of
// zoneID, for the edge.
func EdgeAccessRules(tx *gorm.DB, accountID, zoneID string) ([]FirewallAccessRule, error) {
	return EffectiveFirewallAccessRules(tx, accountID, zoneID)
}

// PruneEdgeTrafficExcept deletes traffic rows older than before (Unix seconds) of zones whose plan
// is none of plans, and of zones that no longer exist.
func PruneEdgeTrafficExcept(tx *gorm.DB, plans []string, before int64) (int64, error) {
	res := tx.Where("minute < ? AND zone_id NOT IN (?)", before, tx.Model(&Zone{}).Select("id").Where("plan IN ?", plans)).
		Delete(&EdgeTraffic{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune edge traffic: %w", res.Error)
	}
	return res.RowsAffected, nil
}
