package tokens

import (
	"encoding/json"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
)

// recordTokenEvent writes the audit entry for a change to a token (named name, with the given
// policies as stored, before and/or after the change). An account-owned token's entry is in its
// account's log. A user-owned token's entry is in its user's own log ("My activity"), and a copy
// without an owner goes to the log of every account the token reaches (where the user is a member
// and the token's policies name the account, its zones or all of them), so account
// administrators see every key that can act in their account appear, change and go. A copy holds
// the old and new values only when the token reaches no other account, so one account's log never
// shows another account's ids.
func recordTokenEvent(tx *gorm.DB, actor audit.Actor, owner Owner, name string, ev audit.Event, policies ...string) error {
	ev.ResourceName = name
	if err := audit.Record(tx, actor, ev); err != nil {
		return err
	}
	if owner.Kind != OwnerUser {
		return nil
	}
	accounts, err := reachedAccounts(tx, owner.UserID, policies)
	if err != nil {
		return err
	}
	for _, id := range accounts {
		m := ev
		m.AccountID, m.Mirror = id, true
		if len(accounts) > 1 {
			m.Old, m.New = nil, nil
		}
		if err := audit.Record(tx, actor, m); err != nil {
			return err
		}
	}
	return nil
}

// reachedAccounts returns, sorted, the accounts of userID's accepted memberships that any of the
// stored policy lists name (an account, its zones, one of its zones, or every account or zone).
func reachedAccounts(tx *gorm.DB, userID string, policies []string) ([]string, error) {
	ms, err := store.AcceptedMemberships(tx, userID)
	if err != nil {
		return nil, err
	}
	member := map[string]bool{}
	for _, m := range ms {
		member[m.AccountID] = true
	}
	reached := map[string]bool{}
	var zoneIDs []string
	for _, raw := range policies {
		if raw == "" {
			continue
		}
		var pj []authz.PolicyJSON
		if err := json.Unmarshal([]byte(raw), &pj); err != nil {
			return nil, fmt.Errorf("decode token policies: %w", err)
		}
		ps, err := authz.ParsePolicies(pj)
		if err != nil {
			return nil, fmt.Errorf("parse token policies: %w", err)
		}
		for _, p := range ps {
			for _, r := range p.Resources {
				switch r.Kind {
				case authz.SelectAllZones, authz.SelectAllAccounts:
					for id := range member {
						reached[id] = true
					}
				case authz.SelectAccount, authz.SelectAccountZones:
					reached[r.ID] = true
				case authz.SelectZone:
					zoneIDs = append(zoneIDs, r.ID)
				}
			}
		}
	}
	if len(zoneIDs) > 0 {
		var accts []string
		if err := tx.Model(&store.Zone{}).Where(store.InIDs(tx, "id", zoneIDs)).Distinct().Pluck("account_id", &accts).Error; err != nil {
			return nil, fmt.Errorf("find accounts of token zones: %w", err)
		}
		for _, id := range accts {
			reached[id] = true
		}
	}
	var out []string
	for id := range reached {
		if member[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
