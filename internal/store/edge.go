package store

import (
	"fmt"
	"strings"
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

// EachEdgeTraffic calls fn with each of the zone's traffic rows with since <= minute < until
// (Unix seconds), in minute order, reading them one at a time so that a long range holds one row
// in memory, not all of them (the rows carry sketches and maps that only Go can merge). An error
// from fn stops the walk and is returned.
func EachEdgeTraffic(tx *gorm.DB, zoneID string, since, until int64, fn func(EdgeTraffic) error) error {
	rows, err := tx.Model(&EdgeTraffic{}).Where("zone_id = ? AND minute >= ? AND minute < ?", zoneID, since, until).Order("minute, id").Rows()
	if err != nil {
		return fmt.Errorf("read edge traffic: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r EdgeTraffic
		if err := tx.ScanRows(rows, &r); err != nil {
			return fmt.Errorf("read edge traffic: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read edge traffic: %w", err)
	}
	return nil
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
	// Serving is ZoneServes of the zone: false when it is paused, moved, deleted or deactivated.
	Serving bool
}

// ZoneServes reports whether a zone with status and paused answers: DNS queries on the DNS server
// and requests on the edge. Paused, moved, deleted and deactivated zones do not.
func ZoneServes(status string, paused bool) bool {
	if paused {
		return false
	}
	switch status {
	case "", "active", "pending", "initializing":
		return true
	}
	return false
}

// ZonePreferred reports whether zone a answers for a zone name that zone b (of another account)
// also holds: a zone that serves beats one that does not, then the zone created first, then the
// smaller id. The DNS server and the edge both choose by it, so they answer for the same zone.
func ZonePreferred(a, b *Zone) bool {
	if sa, sb := ZoneServes(a.Status, a.Paused), ZoneServes(b.Status, b.Paused); sa != sb {
		return sa
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// EdgeZoneForHost finds the zone that answers for host (lower-case, no port, no trailing dot), as
// the DNS server does: among the zones whose name equals host or is a suffix of it at a label
// boundary, those with the longest name; of those (several accounts may hold one name), the one
// ZonePreferred picks. ok is false when no zone has such a name. The zone found may not serve
// (EdgeZone.Serving): then neither the DNS server nor the edge answers for host.
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
	for i := range zs {
		if best < 0 || len(zs[i].Name) > len(zs[best].Name) ||
			(len(zs[i].Name) == len(zs[best].Name) && ZonePreferred(&zs[i], &zs[best])) {
			best = i
		}
	}
	if best < 0 {
		return z, false, nil
	}
	b := zs[best]
	return EdgeZone{ID: b.ID, AccountID: b.AccountID, Name: b.Name, Paused: b.Paused, Plan: b.Plan,
		Serving: ZoneServes(b.Status, b.Paused)}, true, nil
}

func cutLabel(h string) (label, rest string, ok bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == '.' {
			return h[:i], h[i+1:], true
		}
	}
	return h, "", false
}

// EdgeOriginRecords returns the proxied A, AAAA and CNAME records, ordered by id, that answer for
// name (lower case, no trailing dot) in the zone named zoneName, chosen as the DNS server answers
// (RFC 1034 §4.3.2 with RFC 4592 wildcards, see ProxiedOwner): the records of name when name
// exists in the zone (holds records of any type, or is an empty non-terminal above some);
// otherwise those of the wildcard "*." + its closest encloser. Nothing is returned for a name at
// or below a delegation (NS records below the apex), which the DNS server answers with a referral.
//
// One indexed query reads the records of name, its ancestors and their wildcards; only a name
// without records of its own costs a further query per ancestor, to learn whether names lie below
// it, until one exists.
func EdgeOriginRecords(tx *gorm.DB, zoneID, zoneName, name string) ([]DNSRecord, error) {
	names := []string{name}
	for a := name; a != zoneName; {
		_, rest, ok := cutLabel(a)
		if !ok {
			break
		}
		names = append(names, rest, "*."+rest)
		a = rest
	}
	var rs []DNSRecord
	if err := tx.Where("zone_id = ? AND name IN ?", zoneID, names).Order("id").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("find origin records: %w", err)
	}
	byName := map[string][]DNSRecord{}
	for _, r := range rs {
		byName[r.Name] = append(byName[r.Name], r)
	}
	var qerr error
	owner, ok := ProxiedOwner(zoneName, name,
		func(n string) bool {
			for _, r := range byName[n] {
				if r.Type == "NS" {
					return true
				}
			}
			return false
		},
		func(n string) bool {
			if len(byName[n]) > 0 {
				return true
			}
			if qerr != nil {
				return false
			}
			var below []string
			qerr = tx.Model(&DNSRecord{}).Where(`zone_id = ? AND name LIKE ? ESCAPE '\'`, zoneID, "%."+escapeLike(n)).
				Limit(1).Pluck("name", &below).Error
			return len(below) > 0
		})
	if qerr != nil {
		return nil, fmt.Errorf("find origin records: %w", qerr)
	}
	if !ok {
		return nil, nil
	}
	var out []DNSRecord
	for _, r := range byName[owner] {
		if r.Proxied && (r.Type == "A" || r.Type == "AAAA" || r.Type == "CNAME") {
			out = append(out, r)
		}
	}
	return out, nil
}

// ProxiedOwner returns the owner name whose records answer for name in the zone named zoneName
// (names lower case, without trailing dot), by RFC 1034 §4.3.2 and RFC 4592, as the DNS server's
// index does: name itself when it exists; otherwise the wildcard "*." + its closest encloser (the
// nearest ancestor that exists; the apex always does), whether or not that wildcard holds records.
// delegated(n) reports whether n holds NS records, exists(n) whether n holds records or has names
// below it. ok is false when name is outside the zone or at or below a delegation.
func ProxiedOwner(zoneName, name string, delegated, exists func(n string) bool) (owner string, ok bool) {
	if name != zoneName && !strings.HasSuffix(name, "."+zoneName) {
		return "", false
	}
	for a := name; len(a) > len(zoneName); {
		if delegated(a) {
			return "", false
		}
		_, a, _ = cutLabel(a)
	}
	if name == zoneName || exists(name) {
		return name, true
	}
	_, ce, _ := cutLabel(name)
	for ce != zoneName && !exists(ce) {
		_, ce, _ = cutLabel(ce)
	}
	return "*." + ce, true
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
