package store

import (
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// CreateAccount inserts a.
func CreateAccount(tx *gorm.DB, a *Account) error {
	if err := tx.Create(a).Error; err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// AccountByID finds an account by id. Callers check membership before showing it.
func AccountByID(tx *gorm.DB, id string) (*Account, error) {
	var a Account
	if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, notFound(err, "account")
	}
	return &a, nil
}

// UpdateAccount saves the account's mutable fields.
func UpdateAccount(tx *gorm.DB, a *Account) error {
	if err := tx.Model(a).Select("name", "enforce_twofactor", "updated_at").Updates(a).Error; err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	return nil
}

// CreateMembership inserts m. A second membership for the same email in the account is a Conflict.
func CreateMembership(tx *gorm.DB, m *Membership) error {
	if err := tx.Create(m).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("email", "This person is already a member of the account.").WithCode(errs.Conflict)
		}
		return fmt.Errorf("create membership: %w", err)
	}
	return nil
}

// AcceptedMemberships returns the user's accepted memberships, oldest first.
func AcceptedMemberships(tx *gorm.DB, userID string) ([]Membership, error) {
	var ms []Membership
	if err := tx.Where("user_id = ? AND status = ?", userID, MembershipAccepted).
		Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list memberships of user: %w", err)
	}
	return ms, nil
}

// AccountMembership returns the accepted membership of userID in accountID, or NotFound.
func AccountMembership(tx *gorm.DB, accountID, userID string) (*Membership, error) {
	var m Membership
	if err := tx.Where("account_id = ? AND user_id = ? AND status = ?", accountID, userID, MembershipAccepted).
		Take(&m).Error; err != nil {
		return nil, notFound(err, "account")
	}
	return &m, nil
}

// AccountsOfUser returns the accounts in which the user has an accepted membership, by name.
func AccountsOfUser(tx *gorm.DB, userID string) ([]Account, error) {
	var as []Account
	err := tx.Joins("JOIN memberships m ON m.account_id = accounts.id").
		Where("m.user_id = ? AND m.status = ?", userID, MembershipAccepted).
		Order("accounts.name, accounts.id").Find(&as).Error
	if err != nil {
		return nil, fmt.Errorf("list accounts of user: %w", err)
	}
	return as, nil
}

// ZoneScope decodes m.ZoneIDs: nil means every zone of the account.
func (m *Membership) ZoneScope() ([]string, error) {
	if m.ZoneIDs == nil {
		return nil, nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(*m.ZoneIDs), &ids); err != nil {
		return nil, fmt.Errorf("decode zone scope of membership %s: %w", m.ID, err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// SetZoneScope encodes ids into m.ZoneIDs; nil means every zone of the account.
func (m *Membership) SetZoneScope(ids []string) {
	if ids == nil {
		m.ZoneIDs = nil
		return
	}
	b, _ := json.Marshal(ids)
	s := string(b)
	m.ZoneIDs = &s
}
