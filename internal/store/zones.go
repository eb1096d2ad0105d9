package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// ZoneFilter narrows ListZones. Zero values mean "any".
type ZoneFilter struct {
	// AccountIDs restricts the result to these accounts; it must be non-empty.
	AccountIDs []string
	// IDs, when non-nil, restricts the result to these zone ids (an empty slice matches nothing).
	IDs    []string
	Name   string
	Status string
	// Offset and Limit page through the result ordered by name; Limit 0 means no limit.
	Offset, Limit int
}

// ListZones returns one page of zones matching f, ordered by name, and the total count.
func ListZones(tx *gorm.DB, f ZoneFilter) ([]Zone, int64, error) {
	if len(f.AccountIDs) == 0 || (f.IDs != nil && len(f.IDs) == 0) {
		return []Zone{}, 0, nil
	}
	q := tx.Model(&Zone{}).Where("account_id IN ?", f.AccountIDs)
	if f.IDs != nil {
		q = q.Where("id IN ?", f.IDs)
	}
	if f.Name != "" {
		q = q.Where("name = ?", strings.ToLower(strings.TrimSuffix(f.Name, ".")))
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count zones: %w", err)
	}
	zs := []Zone{}
	q = q.Order("name, id").Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if err := q.Find(&zs).Error; err != nil {
		return nil, 0, fmt.Errorf("list zones: %w", err)
	}
	return zs, total, nil
}

// CreateZone inserts z and notes it in the DNS change feed. A zone of the same name in the
// account is a Conflict on "name".
func CreateZone(tx *gorm.DB, z *Zone) error {
	if err := tx.Create(z).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("name", "The zone %s already exists in this account.", z.Name).WithCode(errs.Conflict)
		}
		return fmt.Errorf("create zone: %w", err)
	}
	return RecordDNSChange(tx, z.ID, "")
}

// ZoneByID finds a zone of accountID; a zone of another account is NotFound.
func ZoneByID(tx *gorm.DB, accountID, id string) (*Zone, error) {
	var z Zone
	if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&z).Error; err != nil {
		return nil, notFound(err, "zone")
	}
	return &z, nil
}

// ZoneByIDAnyAccount finds a zone by id alone. Only the API's resource resolution uses it, to
// learn which account a zone belongs to before authorizing; the caller must then check access
// and answer NotFound when access is denied.
func ZoneByIDAnyAccount(tx *gorm.DB, id string) (*Zone, error) {
	var z Zone
	if err := tx.Where("id = ?", id).Take(&z).Error; err != nil {
		return nil, notFound(err, "zone")
	}
	return &z, nil
}

// UpdateZone saves the zone's mutable fields and notes the change in the DNS change feed.
func UpdateZone(tx *gorm.DB, z *Zone) error {
	if err := tx.Model(z).Select("status", "paused", "plan", "updated_at").Updates(z).Error; err != nil {
		return fmt.Errorf("update zone: %w", err)
	}
	return RecordDNSChange(tx, z.ID, "")
}

// DeleteZone removes the zone of accountID (and, through foreign keys, what belongs to it) and
// notes it in the DNS change feed.
func DeleteZone(tx *gorm.DB, accountID, id string) error {
	res := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&Zone{})
	if res.Error != nil {
		return fmt.Errorf("delete zone: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "zone not found")
	}
	return RecordDNSChange(tx, id, "")
}
