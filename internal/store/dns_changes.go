package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// DNSChange is one row of the DNS change feed: the zone, and the record ("" for the zone itself),
// whose stored state changed.
type DNSChange struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	ZoneID    string
	RecordID  string
	CreatedAt time.Time
}

// TableName names the table of DNSChange.
func (DNSChange) TableName() string { return "dns_changes" }

// txNotesKey keys the per-transaction notes in a transaction's context.
type txNotesKey struct{}

// txNotes records what a transaction changed, so that DB.Tx can tell this process's listeners
// once it has committed.
type txNotes struct {
	dns bool
}

// RecordDNSChange advances the zone's own change number (zones.dns_seq, migration 00142, which
// ZoneHeadByID reads), bumps the DNS change counter and appends a change row naming the zone and
// the record (recordID "" for a change to the zone itself), in tx. The store's zone and record
// writers call it in the same transaction as the change; when tx was started by DB.Tx, this
// process's DNS change listeners run after the commit.
func RecordDNSChange(tx *gorm.DB, zoneID, recordID string) error {
	// The zone's own number first: its row is the writer's already (LockZoneForWrite, or the
	// record counter's update), whereas the global counter's row, once bumped, makes every other
	// DNS writer wait until this transaction ends.
	if err := tx.Exec("UPDATE zones SET dns_seq = dns_seq + 1 WHERE id = ?", zoneID).Error; err != nil {
		return fmt.Errorf("record dns change: %w", err)
	}
	var seq int64
	if err := tx.Raw("UPDATE dns_change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq").Scan(&seq).Error; err != nil {
		return fmt.Errorf("bump dns change counter: %w", err)
	}
	if seq == 0 {
		return fmt.Errorf("bump dns change counter: counter row missing")
	}
	c := &DNSChange{Seq: seq, ZoneID: zoneID, RecordID: recordID, CreatedAt: time.Now().UTC()}
	if err := tx.Create(c).Error; err != nil {
		return fmt.Errorf("record dns change: %w", err)
	}
	if ctx := tx.Statement.Context; ctx != nil {
		if n, ok := ctx.Value(txNotesKey{}).(*txNotes); ok {
			n.dns = true
		}
	}
	return nil
}

// DNSChangeSeq returns the current value of the DNS change counter.
func DNSChangeSeq(tx *gorm.DB) (int64, error) {
	var seq int64
	if err := tx.Raw("SELECT seq FROM dns_change_counter WHERE id = 1").Scan(&seq).Error; err != nil {
		return 0, fmt.Errorf("read dns change counter: %w", err)
	}
	return seq, nil
}

// DNSChangesAfter returns up to limit DNS changes with a sequence number above seq, in order.
func DNSChangesAfter(tx *gorm.DB, seq int64, limit int) ([]DNSChange, error) {
	var cs []DNSChange
	if err := tx.Where("seq > ?", seq).Order("seq").Limit(limit).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("read dns changes: %w", err)
	}
	return cs, nil
}

// PruneDNSChanges deletes change rows older than before; readers that fell that far behind
// reload everything instead.
func PruneDNSChanges(tx *gorm.DB, before time.Time) error {
	if err := tx.Where("created_at < ?", before).Delete(&DNSChange{}).Error; err != nil {
		return fmt.Errorf("prune dns changes: %w", err)
	}
	return nil
}

// AllZones returns every zone of every account, for the DNS server's index. Only data-plane
// readers that serve all tenants use it.
func AllZones(tx *gorm.DB) ([]Zone, error) {
	var zs []Zone
	if err := tx.Order("id").Find(&zs).Error; err != nil {
		return nil, fmt.Errorf("list all zones: %w", err)
	}
	return zs, nil
}

// ZonesByIDs returns the zones with the given ids that exist, of any account, for the DNS
// server's index.
func ZonesByIDs(tx *gorm.DB, ids []string) ([]Zone, error) {
	var out []Zone
	for start := 0; start < len(ids); start += 500 {
		var zs []Zone
		if err := tx.Where("id IN ?", ids[start:min(start+500, len(ids))]).Find(&zs).Error; err != nil {
			return nil, fmt.Errorf("find zones: %w", err)
		}
		out = append(out, zs...)
	}
	return out, nil
}

// DNSRecordsAfterID returns up to limit DNS records of any zone with an id above afterID, in id
// order, for loading the DNS server's index in pages.
func DNSRecordsAfterID(tx *gorm.DB, afterID string, limit int) ([]DNSRecord, error) {
	var rs []DNSRecord
	if err := tx.Where("id > ?", afterID).Order("id").Limit(limit).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("load dns records: %w", err)
	}
	return rs, nil
}

// ZoneDNSRecords returns every record of one zone, for the DNS server's index.
func ZoneDNSRecords(tx *gorm.DB, zoneID string) ([]DNSRecord, error) {
	var rs []DNSRecord
	if err := tx.Where("zone_id = ?", zoneID).Order("id").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("load dns records of zone: %w", err)
	}
	return rs, nil
}

// DNSRecordsByIDs returns the records with the given ids that exist, of any zone, for the DNS
// server's index.
func DNSRecordsByIDs(tx *gorm.DB, ids []string) ([]DNSRecord, error) {
	var out []DNSRecord
	for start := 0; start < len(ids); start += 500 {
		var rs []DNSRecord
		if err := tx.Where("id IN ?", ids[start:min(start+500, len(ids))]).Find(&rs).Error; err != nil {
			return nil, fmt.Errorf("find dns records: %w", err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// listeners holds the functions DB.Tx calls after committing a transaction that recorded a DNS
// change.
type listeners struct {
	mu   sync.Mutex
	next int
	fns  map[int]func()
}

// OnDNSChange registers fn to be called, on the committing goroutine, after every transaction
// started by db.Tx that recorded a DNS change has committed; the DNS server uses it to serve a
// change on the next query. It returns a function that unregisters fn.
func (db *DB) OnDNSChange(fn func()) (remove func()) {
	db.dnsListeners.mu.Lock()
	defer db.dnsListeners.mu.Unlock()
	if db.dnsListeners.fns == nil {
		db.dnsListeners.fns = map[int]func(){}
	}
	id := db.dnsListeners.next
	db.dnsListeners.next++
	db.dnsListeners.fns[id] = fn
	return func() {
		db.dnsListeners.mu.Lock()
		defer db.dnsListeners.mu.Unlock()
		delete(db.dnsListeners.fns, id)
	}
}

func (db *DB) notifyDNS() {
	db.dnsListeners.mu.Lock()
	fns := make([]func(), 0, len(db.dnsListeners.fns))
	for _, fn := range db.dnsListeners.fns {
		fns = append(fns, fn)
	}
	db.dnsListeners.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// withTxNotes returns ctx carrying fresh transaction notes.
func withTxNotes(ctx context.Context) (context.Context, *txNotes) {
	n := &txNotes{}
	return context.WithValue(ctx, txNotesKey{}, n), n
}
