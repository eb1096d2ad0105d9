package store

import (
	"fmt"

	"gorm.io/gorm"
)

// APIRequest is one row of api_requests: Requests authenticated API requests of one minute with
// the same zone, token, route, method, status, permission group, outcome and client address, for
// zone analytics and per-token usage. TS is the latest of them, Unix seconds (UTC); Bytes their sum.
type APIRequest struct {
	ID              string `gorm:"primaryKey"`
	TS              int64  `gorm:"column:ts"`
	Method          string
	Route           string
	Status          int
	TokenID         string
	AccountID       string
	ZoneID          string
	PermissionGroup string
	Allowed         bool
	Bytes           int64
	IP              string `gorm:"column:ip"`
	// NamespaceID is the Workers KV namespace the request acted on; "" for other routes.
	NamespaceID string
	// Requests is how many requests the row stands for (the recorder aggregates per minute); 0
	// is written as 1.
	Requests int64 `gorm:"default:1"`
}

// InsertAPIRequests writes rows in one statement per chunk.
func InsertAPIRequests(tx *gorm.DB, rows []APIRequest) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return fmt.Errorf("record api requests: %w", err)
	}
	return nil
}

// TrafficBucket is the count of a zone's requests with one status in one time bucket.
type TrafficBucket struct {
	Bucket   int64 // start of the bucket, Unix seconds
	Status   int
	Requests int64
	Bytes    int64
}

// ZoneTraffic counts the zone's requests with since <= ts < until by bucket (of bucketSecs
// seconds, aligned to the Unix epoch, so hours and UTC days) and status.
func ZoneTraffic(tx *gorm.DB, zoneID string, since, until, bucketSecs int64) ([]TrafficBucket, error) {
	var out []TrafficBucket
	err := tx.Model(&APIRequest{}).
		Select("(ts - ts % ?) AS bucket, status, COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(bytes), 0) AS bytes", bucketSecs).
		Where("zone_id = ? AND ts >= ? AND ts < ?", zoneID, since, until).
		Group("bucket, status").Order("bucket, status").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("zone traffic: %w", err)
	}
	return out, nil
}

// UniquesBucket is the number of distinct client addresses in one time bucket.
type UniquesBucket struct {
	Bucket  int64
	Uniques int64
}

// ZoneUniques counts distinct client addresses of the zone's requests by bucket, and over the
// whole range.
func ZoneUniques(tx *gorm.DB, zoneID string, since, until, bucketSecs int64) ([]UniquesBucket, int64, error) {
	var out []UniquesBucket
	err := tx.Model(&APIRequest{}).
		Select("(ts - ts % ?) AS bucket, COUNT(DISTINCT ip) AS uniques", bucketSecs).
		Where("zone_id = ? AND ts >= ? AND ts < ?", zoneID, since, until).
		Group("bucket").Order("bucket").Scan(&out).Error
	if err != nil {
		return nil, 0, fmt.Errorf("zone uniques: %w", err)
	}
	var total int64
	err = tx.Model(&APIRequest{}).Select("COUNT(DISTINCT ip)").
		Where("zone_id = ? AND ts >= ? AND ts < ?", zoneID, since, until).Scan(&total).Error
	if err != nil {
		return nil, 0, fmt.Errorf("zone uniques: %w", err)
	}
	return out, total, nil
}

// GroupUse is how often a token's requests needed one permission group, by outcome.
type GroupUse struct {
	PermissionGroup string
	Allowed         bool
	Requests        int64
	Last            int64 // Unix seconds of the latest such request
}

// TokenUse counts the token's requests with since <= ts < until by permission group and outcome.
func TokenUse(tx *gorm.DB, tokenID string, since, until int64) ([]GroupUse, error) {
	var out []GroupUse
	err := tx.Model(&APIRequest{}).
		Select("permission_group, allowed, COALESCE(SUM(requests), 0) AS requests, MAX(ts) AS last").
		Where("token_id = ? AND ts >= ? AND ts < ?", tokenID, since, until).
		Group("permission_group, allowed").Order("permission_group, allowed").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("token usage: %w", err)
	}
	return out, nil
}

// PruneAPIRequests deletes recorded requests older than before (Unix seconds) and reports how
// many went.
func PruneAPIRequests(tx *gorm.DB, before int64) (int64, error) {
	res := tx.Where("ts < ?", before).Delete(&APIRequest{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune api requests: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// NamespaceUse counts a token's requests on one Workers KV namespace.
type NamespaceUse struct {
	NamespaceID string
	Allowed     bool
	Requests    int64
	Last        int64
}

// TokenNamespaceUse counts tokenID's requests in [since, until) (Unix seconds) per Workers KV
// namespace and outcome, namespace id order.
func TokenNamespaceUse(tx *gorm.DB, tokenID string, since, until int64) ([]NamespaceUse, error) {
	var out []NamespaceUse
	err := tx.Model(&APIRequest{}).
		Select("namespace_id, allowed, COALESCE(SUM(requests), 0) AS requests, MAX(ts) AS last").
		Where("token_id = ? AND ts >= ? AND ts < ? AND namespace_id <> ''", tokenID, since, until).
		Group("namespace_id, allowed").Order("namespace_id, allowed").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("token namespace usage: %w", err)
	}
	return out, nil
}
