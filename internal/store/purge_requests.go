package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PurgeRequest records one accepted cache purge of a zone. Kind is everything, files, tags,
// hosts or prefixes; Items is the JSON array of what was purged.
type PurgeRequest struct {
	ID        string `gorm:"primaryKey"`
	AccountID string
	ZoneID    string
	Kind      string
	Items     string
	ActorType string
	ActorID   string
	CreatedAt time.Time
	// AppliedAt is when an edge process last applied the purge; nil until one has.
	AppliedAt *time.Time
}

// TableName names the table of PurgeRequest.
func (PurgeRequest) TableName() string { return "purge_requests" }

// InsertPurgeRequest records p.
func InsertPurgeRequest(tx *gorm.DB, p *PurgeRequest) error {
	if err := tx.Create(p).Error; err != nil {
		return fmt.Errorf("record purge request: %w", err)
	}
	return nil
}

// ListPurgeRequests returns one page of the zone's purge requests, newest first, and their total
// count. Limit 0 means no limit.
func ListPurgeRequests(tx *gorm.DB, accountID, zoneID string, offset, limit int) ([]PurgeRequest, int64, error) {
	q := tx.Model(&PurgeRequest{}).Where("account_id = ? AND zone_id = ?", accountID, zoneID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count purge requests: %w", err)
	}
	q = q.Order("created_at DESC, id DESC").Offset(offset)
	if limit > 0 {
		q = q.Limit(limit)
	}
	ps := []PurgeRequest{}
	if err := q.Find(&ps).Error; err != nil {
		return nil, 0, fmt.Errorf("list purge requests: %w", err)
	}
	return ps, total, nil
}
