package tokens

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
)

// ActionCascadeDisabled is the audit action of a token disabled because an ancestor (the token
// that minted it, or that token's parent, and so on) was disabled, deleted, rolled or reported as
// leaked.
const ActionCascadeDisabled = "token.cascade_disable"

// Causes of a cascade, as recorded in the audit entry.
const (
	causeDisabled = "disabled"
	causeDeleted  = "deleted"
	causeRolled   = "rolled"
	causeLeaked   = "reported as leaked"
)

// cascadeValue is the new value of a cascade's audit entry.
type cascadeValue struct {
	Status     string `json:"status"`
	AncestorID string `json:"ancestor_id"`
	Because    string `json:"because"`
}

// rowOwner returns whom a stored token acts for.
func rowOwner(r *store.APIToken) Owner {
	o := Owner{Kind: OwnerKind(r.OwnerKind)}
	if r.UserID != nil {
		o.UserID = *r.UserID
	}
	if r.AccountID != nil {
		o.AccountID = *r.AccountID
	}
	return o
}

// disableDescendants disables, inside tx, every active token descending from rootID (children,
// their children, …), each with its own audit entry and change-feed note, and returns their ids
// so the caller can drop them from this process's cache once tx commits. Whoever could use the
// ancestor may have minted them, so they must not outlive its revocation.
func (s *Service) disableDescendants(tx *gorm.DB, actor audit.Actor, rootID, cause string) ([]string, error) {
	now := s.now().Truncate(time.Second)
	seen := map[string]bool{rootID: true}
	frontier := []string{rootID}
	var changed []string
	for len(frontier) > 0 {
		rows, err := store.ChildAPITokens(tx, frontier)
		if err != nil {
			return nil, err
		}
		frontier = nil
		for i := range rows {
			r := &rows[i]
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			frontier = append(frontier, r.ID)
			if r.Status != StatusActive {
				continue
			}
			ok, err := store.DisableAPIToken(tx, r.ID, now)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			ev := rowOwner(r).auditEvent(ActionCascadeDisabled, r.ID)
			ev.Old = map[string]string{"status": StatusActive}
			ev.New = cascadeValue{Status: StatusDisabled, AncestorID: rootID, Because: "ancestor " + cause}
			if err := audit.Record(tx, actor, ev); err != nil {
				return nil, err
			}
			if err := NoteTokenChange(tx, r.ID); err != nil {
				return nil, err
			}
			changed = append(changed, r.ID)
		}
	}
	return changed, nil
}

// dropTokens drops tokens from this process's cache.
func (s *Service) dropTokens(ids []string) {
	for _, id := range ids {
		s.cache.dropToken(id)
	}
}

// Children returns the tokens of owner that id minted (its direct children), oldest first. owner
// must own id. Children owned by someone else (an account token minted by a user's token) are
// left out: they belong to another owner's list.
func (s *Service) Children(ctx context.Context, owner Owner, id string) ([]*Token, error) {
	if _, err := s.Get(ctx, owner, id); err != nil {
		return nil, err
	}
	rows, err := store.ChildAPITokens(s.db.Gorm(ctx), []string{id})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*Token, 0, len(rows))
	for i := range rows {
		if rowOwner(&rows[i]) != owner {
			continue
		}
		t, err := fromRow(&rows[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
