package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DNSQueryStat is the number of DNS queries a zone answered in one hour for one query name, type
// and response code.
type DNSQueryStat struct {
	ZoneID string `gorm:"primaryKey"`
	Hour   int64  `gorm:"primaryKey"`
	Qname  string `gorm:"primaryKey"`
	Qtype  string `gorm:"primaryKey"`
	Rcode  string `gorm:"primaryKey"`
	Count  int64
}

// TableName names the table of DNSQueryStat.
func (DNSQueryStat) TableName() string { return "dns_query_stats" }

// AddDNSQueryStats adds the counts of rows to the stored ones (creating rows as needed). Rows of
// zones that no longer exist are dropped.
func AddDNSQueryStats(tx *gorm.DB, rows []DNSQueryStat) error {
	if len(rows) == 0 {
		return nil
	}
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.ZoneID] = true
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	zs, err := ZonesByIDs(tx, list)
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, z := range zs {
		exists[z.ID] = true
	}
	kept := rows[:0:0]
	for _, r := range rows {
		if exists[r.ZoneID] {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	err = tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "zone_id"}, {Name: "hour"}, {Name: "qname"}, {Name: "qtype"}, {Name: "rcode"}},
		DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("dns_query_stats.count + excluded.count")}),
	}).CreateInBatches(kept, 500).Error
	if err != nil {
		return fmt.Errorf("add dns query stats: %w", err)
	}
	return nil
}

// DNSReportRow is one group of a DNS analytics report: the values of the requested dimensions
// and the number of queries.
type DNSReportRow struct {
	Qname, Qtype, Rcode string
	Count               int64
}

// DNSQueryReport groups the zone's query counts from hour since (inclusive) to hour until
// (exclusive) by dims (any of "qname", "qtype", "rcode"), largest first, at most limit groups,
// and returns them with the total count.
func DNSQueryReport(tx *gorm.DB, zoneID string, since, until int64, dims []string, limit int) ([]DNSReportRow, int64, error) {
	q := tx.Model(&DNSQueryStat{}).Where("zone_id = ? AND hour >= ? AND hour < ?", zoneID, since, until)
	var total int64
	if err := q.Session(&gorm.Session{}).Select("COALESCE(SUM(count), 0)").Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("dns report total: %w", err)
	}
	cols := make([]string, 0, len(dims))
	for _, d := range dims {
		switch d {
		case "qname", "qtype", "rcode":
			cols = append(cols, d)
		default:
			return nil, 0, fmt.Errorf("unknown dns report dimension %q", d)
		}
	}
	if len(cols) == 0 {
		return []DNSReportRow{{Count: total}}, total, nil
	}
	var rows []DNSReportRow
	sel := strings.Join(cols, ", ") + ", SUM(count) AS count"
	q = q.Group(strings.Join(cols, ", "))
	order := "count DESC"
	for _, c := range cols {
		order += ", " + c
	}
	if err := q.Select(sel).Order(order).Limit(limit).Scan(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("dns report: %w", err)
	}
	return rows, total, nil
}

// PruneDNSQueryStats deletes counts of hours before before (Unix seconds).
func PruneDNSQueryStats(tx *gorm.DB, before int64) error {
	if err := tx.Where("hour < ?", before).Delete(&DNSQueryStat{}).Error; err != nil {
		return fmt.Errorf("prune dns query stats: %w", err)
	}
	return nil
}
