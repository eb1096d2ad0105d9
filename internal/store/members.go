package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchkey/latchkey/internal/errs"
)

// ListMemberships returns one page of the account's memberships (accepted and pending), oldest
// first, and the total count.
func ListMemberships(tx *gorm.DB, accountID string, offset, limit int) ([]Membership, int64, error) {
	q := tx.Model(&Membership{}).Where("account_id = ?", accountID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count memberships: %w", err)
	}
	ms := []Membership{}
	q = q.Order("created_at, id").Offset(offset)
	if limit > 0 {
		q = q.Limit(limit)
	}
	if err := q.Find(&ms).Error; err != nil {
		return nil, 0, fmt.Errorf("list memberships: %w", err)
	}
	return ms, total, nil
}

// MembershipByID finds a membership of accountID; one of another account is NotFound.
func MembershipByID(tx *gorm.DB, accountID, id string) (*Membership, error) {
	var m Membership
	if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&m).Error; err != nil {
		return nil, notFound(err, "member")
	}
	return &m, nil
}

// MembershipByInviteHash finds the pending membership whose one-time code hashes to hash.
func MembershipByInviteHash(tx *gorm.DB, hash string) (*Membership, error) {
	var m Membership
	if err := tx.Where("invite_code_hash = ? AND status = ?", hash, MembershipPending).Take(&m).Error; err != nil {
		return nil, notFound(err, "invitation")
	}
	return &m, nil
}

// UpdateMembership saves the membership's role, zone scope, status, user, invitation fields and
// updated_at.
func UpdateMembership(tx *gorm.DB, m *Membership) error {
	err := tx.Model(m).Select("role_id", "zone_ids", "status", "user_id", "invite_code_hash", "expires_at", "updated_at").
		Updates(m).Error
	if err != nil {
		return fmt.Errorf("update membership: %w", err)
	}
	return nil
}

// DeleteMembership removes a membership of accountID.
func DeleteMembership(tx *gorm.DB, accountID, id string) error {
	res := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&Membership{})
	if res.Error != nil {
		return fmt.Errorf("delete membership: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "member not found")
	}
	return nil
}

// CountAccountRole counts the accepted memberships of accountID with roleID over all zones of the
// account (zone_ids NULL).
func CountAccountRole(tx *gorm.DB, accountID, roleID string) (int64, error) {
	var n int64
	err := tx.Model(&Membership{}).Where("account_id = ? AND role_id = ? AND status = ? AND zone_ids IS NULL",
		accountID, roleID, MembershipAccepted).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count members with role: %w", err)
	}
	return n, nil
}

// LockAccount takes a row lock on the account for the rest of tx on PostgreSQL, so that
// concurrent member changes of one account run one after the other. SQLite transactions here
// begin IMMEDIATE and are serialised already.
func LockAccount(tx *gorm.DB, accountID string) error {
	var a Account
	q := tx.Select("id").Where("id = ?", accountID)
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&a).Error; err != nil {
		return notFound(err, "account")
	}
	return nil
}

// UsersByID returns the users with the given ids, by id.
func UsersByID(tx *gorm.DB, ids []string) (map[string]*User, error) {
	out := make(map[string]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var us []User
	if err := tx.Where("id IN ?", ids).Find(&us).Error; err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	for i := range us {
		out[us[i].ID] = &us[i]
	}
	return out, nil
}

// DeleteExpiredInvitation deletes the pending membership of email in accountID if its invitation
// expired before now, so that the person can be invited again.
func DeleteExpiredInvitation(tx *gorm.DB, accountID, email string, now time.Time) error {
	err := tx.Where("account_id = ? AND email = ? AND status = ? AND expires_at IS NOT NULL AND expires_at < ?",
		accountID, email, MembershipPending, now.UTC()).Delete(&Membership{}).Error
	if err != nil {
		return fmt.Errorf("delete expired invitation: %w", err)
	}
	return nil
}

// MembershipByEmail finds the membership (accepted or pending) of email in accountID.
func MembershipByEmail(tx *gorm.DB, accountID, email string) (*Membership, error) {
	var m Membership
	if err := tx.Where("account_id = ? AND email = ?", accountID, email).Take(&m).Error; err != nil {
		return nil, notFound(err, "member")
	}
	return &m, nil
}
