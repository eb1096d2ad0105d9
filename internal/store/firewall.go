package store

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// FirewallAccessRule is an IP access rule. ZoneID is nil for an account-scope rule; ScopeKey is the
// zone id or "" and exists so that the (account, scope, target, value) unique index sees account
// rules as equal.
type FirewallAccessRule struct {
	ID        string `gorm:"primaryKey"`
	AccountID string
	ZoneID    *string
	ScopeKey  string
	Mode      string
	Target    string
	Value     string
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the rules table.
func (FirewallAccessRule) TableName() string { return "firewall_access_rules" }

// FirewallScopeKey returns the ScopeKey of a rule in zoneID ("" for account scope).
func FirewallScopeKey(zoneID string) string { return zoneID }

// DuplicateAccessRuleMessage is upstream's message (and ours) for a second rule with the same
// configuration in the same scope.
const DuplicateAccessRuleMessage = "firewallaccessrules.api.duplicate_of_existing"

// CreateFirewallAccessRule inserts r. A rule with the same target and value in the same scope is a
// Conflict with API code 10009.
func CreateFirewallAccessRule(tx *gorm.DB, r *FirewallAccessRule) error {
	if err := tx.Create(r).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("configuration", DuplicateAccessRuleMessage).WithCode(errs.Conflict).WithAPICode(10009)
		}
		return fmt.Errorf("create firewall access rule: %w", err)
	}
	return nil
}

// FirewallAccessRuleByID finds a rule of accountID in the scope zoneID ("" for account scope). A
// rule of another account or another scope is NotFound.
func FirewallAccessRuleByID(tx *gorm.DB, accountID, zoneID, id string) (*FirewallAccessRule, error) {
	var r FirewallAccessRule
	err := tx.Where("account_id = ? AND scope_key = ? AND id = ?", accountID, FirewallScopeKey(zoneID), id).Take(&r).Error
	if err != nil {
		return nil, notFound(err, "access rule")
	}
	return &r, nil
}

// FirewallRuleFilter narrows ListFirewallAccessRules. Empty strings mean "any".
type FirewallRuleFilter struct {
	AccountID string
	// ZoneID selects the zone scope; "" selects the account scope.
	ZoneID string
	Mode   string
	// Notes matches rules whose notes contain it, ignoring ASCII case.
	Notes  string
	Target string
	Value  string
	// MatchAny combines the conditions above with OR instead of AND.
	MatchAny bool
	// Order is "", "configuration.target", "configuration.value" or "mode"; "" orders by creation.
	Order      string
	Descending bool
	// Offset and Limit page through the result; Limit 0 means no limit.
	Offset, Limit int
}

// ListFirewallAccessRules returns one page of rules matching f and the total count.
func ListFirewallAccessRules(tx *gorm.DB, f FirewallRuleFilter) ([]FirewallAccessRule, int64, error) {
	q := tx.Model(&FirewallAccessRule{}).Where("account_id = ? AND scope_key = ?", f.AccountID, FirewallScopeKey(f.ZoneID))
	var conds []string
	var args []any
	if f.Mode != "" {
		conds, args = append(conds, "mode = ?"), append(args, f.Mode)
	}
	if f.Notes != "" {
		conds, args = append(conds, `LOWER(notes) LIKE ? ESCAPE '\'`), append(args, "%"+escapeLike(strings.ToLower(f.Notes))+"%")
	}
	if f.Target != "" {
		conds, args = append(conds, "target = ?"), append(args, f.Target)
	}
	if f.Value != "" {
		conds, args = append(conds, "value = ?"), append(args, f.Value)
	}
	if len(conds) > 0 {
		join := " AND "
		if f.MatchAny {
			join = " OR "
		}
		q = q.Where("("+strings.Join(conds, join)+")", args...)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count firewall access rules: %w", err)
	}
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	switch f.Order {
	case "configuration.target":
		q = q.Order("target" + dir).Order("value" + dir)
	case "configuration.value":
		q = q.Order("value" + dir)
	case "mode":
		q = q.Order("mode" + dir)
	}
	q = q.Order("created_at" + dir).Order("id" + dir).Offset(f.Offset)
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	rs := []FirewallAccessRule{}
	if err := q.Find(&rs).Error; err != nil {
		return nil, 0, fmt.Errorf("list firewall access rules: %w", err)
	}
	return rs, total, nil
}

// EffectiveFirewallAccessRules returns every rule that applies to zoneID of accountID: the zone's
// own rules and the account's.
func EffectiveFirewallAccessRules(tx *gorm.DB, accountID, zoneID string) ([]FirewallAccessRule, error) {
	rs := []FirewallAccessRule{}
	err := tx.Where("account_id = ? AND scope_key IN ?", accountID, []string{"", FirewallScopeKey(zoneID)}).
		Order("id").Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("load effective firewall access rules: %w", err)
	}
	return rs, nil
}

// UpdateFirewallAccessRule saves the rule's mutable fields (mode and notes).
func UpdateFirewallAccessRule(tx *gorm.DB, r *FirewallAccessRule) error {
	if err := tx.Model(r).Select("mode", "notes", "updated_at").Updates(r).Error; err != nil {
		return fmt.Errorf("update firewall access rule: %w", err)
	}
	return nil
}

// DeleteFirewallAccessRule removes a rule of accountID in the scope zoneID.
func DeleteFirewallAccessRule(tx *gorm.DB, accountID, zoneID, id string) error {
	res := tx.Where("account_id = ? AND scope_key = ? AND id = ?", accountID, FirewallScopeKey(zoneID), id).
		Delete(&FirewallAccessRule{})
	if res.Error != nil {
		return fmt.Errorf("delete firewall access rule: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "access rule not found")
	}
	return nil
}
