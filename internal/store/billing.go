package store

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// AccountBilling is an account's plan and its Stripe customer and subscription. An account without
// a row is on the default plan (Free when billing is on, Unlimited when it is off).
type AccountBilling struct {
	AccountID            string `gorm:"primaryKey"`
	Plan                 string
	Status               string
	StripeCustomerID     *string
	StripeSubscriptionID *string
	CurrentPeriodEnd     *time.Time
	PastDueSince         *time.Time
	// EventCreated is the Stripe "created" time (Unix seconds) of the last subscription event
	// applied to the row.
	EventCreated int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName is the billing table's name.
func (AccountBilling) TableName() string { return "account_billing" }

// StripeEvent records a Stripe webhook event that has been applied.
type StripeEvent struct {
	ID          string `gorm:"primaryKey"`
	Type        string
	Created     int64
	ProcessedAt time.Time
}

// AccountBillingByID returns the billing row of accountID, or nil when there is none.
func AccountBillingByID(tx *gorm.DB, accountID string) (*AccountBilling, error) {
	var b AccountBilling
	err := tx.Where("account_id = ?", accountID).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account billing: %w", err)
	}
	return &b, nil
}

// LockAccountBilling returns the billing row of accountID for update inside tx, creating it on the
// given plan when there is none. The account must exist.
func LockAccountBilling(tx *gorm.DB, accountID, defaultPlan string, now time.Time) (*AccountBilling, error) {
	if err := LockAccount(tx, accountID); err != nil {
		return nil, err
	}
	b, err := AccountBillingByID(tx, accountID)
	if err != nil || b != nil {
		return b, err
	}
	b = &AccountBilling{AccountID: accountID, Plan: defaultPlan, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(b).Error; err != nil {
		return nil, fmt.Errorf("create account billing: %w", err)
	}
	return b, nil
}

// AccountBillingByCustomer returns the billing row holding the Stripe customer id, or NotFound.
func AccountBillingByCustomer(tx *gorm.DB, customerID string) (*AccountBilling, error) {
	var b AccountBilling
	if err := tx.Where("stripe_customer_id = ?", customerID).Take(&b).Error; err != nil {
		return nil, notFound(err, "billing customer")
	}
	return &b, nil
}

// SaveAccountBilling writes every field of b.
func SaveAccountBilling(tx *gorm.DB, b *AccountBilling) error {
	if err := tx.Save(b).Error; err != nil {
		return fmt.Errorf("save account billing: %w", err)
	}
	return nil
}

// PastDueBilling returns the billing rows past due since before cutoff and not yet on plan.
func PastDueBilling(tx *gorm.DB, cutoff time.Time, plan string) ([]AccountBilling, error) {
	var bs []AccountBilling
	if err := tx.Where("past_due_since IS NOT NULL AND past_due_since <= ? AND plan <> ?", cutoff, plan).
		Order("account_id").Find(&bs).Error; err != nil {
		return nil, fmt.Errorf("list past-due accounts: %w", err)
	}
	return bs, nil
}

// AllAccountBilling returns every billing row.
func AllAccountBilling(tx *gorm.DB) ([]AccountBilling, error) {
	var bs []AccountBilling
	if err := tx.Order("account_id").Find(&bs).Error; err != nil {
		return nil, fmt.Errorf("list account billing: %w", err)
	}
	return bs, nil
}

// RecordStripeEvent records e as applied and reports whether it is new: false means the event
// was already applied (a redelivery) and the caller must not apply it again.
func RecordStripeEvent(tx *gorm.DB, e *StripeEvent) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(e)
	if res.Error != nil {
		return false, fmt.Errorf("record stripe event: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CountAccountZones counts the zones of accountID, from the account's zone counter (exact, kept
// by triggers in the transaction of every zone insert and delete; see counters.go).
func CountAccountZones(tx *gorm.DB, accountID string) (int64, error) {
	return AccountZoneCount(tx, []string{accountID})
}

// CountAccountMembers counts the members of accountID, accepted and invited.
func CountAccountMembers(tx *gorm.DB, accountID string) (int64, error) {
	var n int64
	if err := tx.Model(&Membership{}).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

// AccountKVBytes sums the sizes of the keys and values stored in accountID's KV namespaces.
func AccountKVBytes(tx *gorm.DB, accountID string) (int64, error) {
	var n *int64
	err := tx.Raw(`SELECT SUM(length(p.key) + length(p.value)) FROM kv_pairs p
		JOIN kv_namespaces n ON n.id = p.namespace_id WHERE n.account_id = ?`, accountID).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("sum kv storage: %w", err)
	}
	if n == nil {
		return 0, nil
	}
	return *n, nil
}

// AccountZoneIDsAfter returns the ids of accountID's zones beyond the first keep, oldest first
// (by creation, then id): the zones that are over a plan limit of keep zones. The account's zone
// counter (accounts.zone_count) is read first, so an account within the limit costs one row
// read and no zone is listed; beyond it only the ids past the first keep are read.
func AccountZoneIDsAfter(tx *gorm.DB, accountID string, keep int64) ([]string, error) {
	n, err := CountAccountZones(tx, accountID)
	if err != nil {
		return nil, err
	}
	if n <= keep {
		return nil, nil
	}
	if keep < 0 {
		keep = 0
	}
	ids := []string{}
	if err := tx.Model(&Zone{}).Where("account_id = ?", accountID).
		Order("created_at, id").Offset(int(keep)).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list zones: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}
