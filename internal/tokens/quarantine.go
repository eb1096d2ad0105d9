package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// readGroup maps each Write group to the Read group of the same label. Cache Purge, a Write
// group with no Read group, is absent.
var readGroup = func() map[authz.Perm]authz.Perm {
	m := map[authz.Perm]authz.Perm{}
	for _, w := range authz.Groups() {
		if !w.Write {
			continue
		}
		for _, r := range authz.Groups() {
			if !r.Write && r.Scope == w.Scope && r.Label == w.Label {
				m[w.Perm] = r.Perm
			}
		}
	}
	return m
}()

// ReadOnly returns policies with every Write group of an allow policy replaced by the Read group
// of the same label, which can only take access away. Deny policies and DNS record constraints
// stay as they are; a group with no Read form (Cache Purge) is dropped, as is an allow policy
// left empty; groups and allow policies that become duplicates are merged. It fails with Invalid when
// the policies grant no Write group (nothing to do) or when no allow policy would remain (the
// token should be disabled instead).
func ReadOnly(policies []authz.PolicyJSON) ([]authz.PolicyJSON, error) {
	ps, err := authz.ParsePolicies(policies)
	if err != nil {
		return nil, validation(err)
	}
	out, err := readOnly(ps)
	if err != nil {
		return nil, err
	}
	return authz.PoliciesJSON(out), nil
}

func readOnly(ps []authz.Policy) ([]authz.Policy, error) {
	var out []authz.Policy
	seen := map[string]bool{}
	writes, allows := false, 0
	for _, p := range ps {
		if p.Effect == authz.Allow {
			perms := make([]authz.Perm, 0, len(p.Perms))
			for _, perm := range p.Perms {
				if !perm.Group().Write {
					perms = append(perms, perm)
					continue
				}
				writes = true
				if r, ok := readGroup[perm]; ok {
					perms = append(perms, r)
				}
			}
			slices.Sort(perms)
			if p.Perms = slices.Compact(perms); len(p.Perms) == 0 {
				continue
			}
			allows++
		}
		if p.Effect == authz.Allow {
			key, err := policyKey(p)
			if err != nil {
				return nil, err
			}
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, p)
	}
	if !writes {
		return nil, errs.E(errs.Invalid, "The token is already read-only: none of its permissions is a Write permission.")
	}
	if allows == 0 {
		return nil, errs.E(errs.Invalid, "Nothing read-only would be left of the token (Cache Purge has no Read form): disable or delete it instead.")
	}
	return out, nil
}

// policyKey identifies what a policy grants or denies, whatever its id.
func policyKey(p authz.Policy) (string, error) {
	p.ID = ""
	b, err := json.Marshal(p.JSON())
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(b), nil
}

// Quarantine makes a token of owner read-only: every Write group of its allow policies becomes
// the Read group of the same label (see ReadOnly). Nothing else about the token changes — secret,
// name, IP condition, validity window, status — so scripts that only read keep working while
// nothing can write with it any more. The change is one transaction with its audit entry
// (token.quarantine, old and new policies) and reaches this process's cache at once and every
// other process through the change feed. The caller checks that c may change owner's tokens.
func (s *Service) Quarantine(ctx context.Context, c Creator, owner Owner, id string) (*Token, error) {
	var t *Token
	err := s.mutate(ctx, owner, id, func(tx *gorm.DB, row *store.APIToken) error {
		if owner.Kind == OwnerAccount && c.UserID != "" {
			acc, err := UserAccess(tx, c.UserID)
			if err != nil {
				return err
			}
			if !acc.managesAccountTokens(owner.AccountID) {
				return errs.E(errs.Forbidden, "Changing the account's tokens needs Account API Tokens Write.")
			}
		}
		now := s.now()
		before, err := fromRow(row, now)
		if err != nil {
			return err
		}
		old, err := credentialFromRow(row, Hash{})
		if err != nil {
			return err
		}
		ps, err := readOnly(old.Policies)
		if err != nil {
			return err
		}
		// Swapping Write for Read cannot widen a token; make sure of it all the same.
		if err := subset(tx, ps, old.Policies); err != nil {
			return fmt.Errorf("read-only policies of token %s exceed its policies: %w", id, err)
		}
		b, err := json.Marshal(authz.PoliciesJSON(ps))
		if err != nil {
			return fmt.Errorf("encode policies: %w", err)
		}
		row.Policies = string(b)
		row.ModifiedOn = now.Truncate(time.Second)
		if err := store.UpdateAPIToken(tx, row); err != nil {
			return err
		}
		if t, err = fromRow(row, now); err != nil {
			return err
		}
		ev := owner.auditEvent("token.quarantine", id)
		ev.Old = map[string]any{"policies": before.Policies}
		ev.New = map[string]any{"policies": t.Policies}
		return recordTokenEvent(tx, c.Actor, owner, row.Name, ev, row.Policies)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
