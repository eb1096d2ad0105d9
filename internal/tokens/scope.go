package tokens

import (
	"context"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// An account's tokens are capped by the member looking at them: a member sees, changes, disables,
// rolls and deletes only the account-owned tokens whose every permission they hold themselves
// (their role over their zones), just as they may create only such tokens. A member limited to
// some zones does not learn of tokens that reach other zones, nor touch them; a member with the
// whole account sees them all. The acting user's access decides, not the acting API token's (a
// token that may read the token list needs only Account API Tokens Read); rolling, which hands
// out a new secret, is also capped by the acting token (see Roll). User-owned tokens are their
// owner's alone and are not capped here, so that a user who lost access can still disable or
// narrow their own tokens.

// viewerBound is what caps userID's view of owner's tokens: nil when nothing does (a user-owned
// token list, no user, or a member who holds the whole account).
func viewerBound(tx *gorm.DB, userID string, owner Owner) ([]authz.Policy, error) {
	if owner.Kind != OwnerAccount || userID == "" {
		return nil, nil
	}
	acc, err := UserAccess(tx, userID)
	if err != nil {
		return nil, err
	}
	if subset(tx, AccountScope(owner.AccountID), acc.Policies) == nil {
		return nil, nil
	}
	if acc.Policies == nil {
		return []authz.Policy{}, nil
	}
	return acc.Policies, nil
}

// heldBy reports whether the stored token row grants nothing outside bound (nil: no bound).
func heldBy(tx *gorm.DB, row *store.APIToken, bound []authz.Policy) (bool, error) {
	if bound == nil {
		return true, nil
	}
	cred, err := credentialFromRow(row, Hash{})
	if err != nil {
		return false, err
	}
	return subset(tx, cred.Policies, bound) == nil, nil
}

// errBeyondScope is the answer to a member changing an account token that reaches beyond their
// own access: NotFound, as for reading it, so that the answer does not tell it exists.
func errBeyondScope() error {
	return errs.E(errs.NotFound, "token not found")
}

// mayChange checks that c's user may change or delete the token row of owner (see above).
func mayChange(tx *gorm.DB, c Creator, owner Owner, row *store.APIToken) error {
	bound, err := viewerBound(tx, c.UserID, owner)
	if err != nil {
		return err
	}
	ok, err := heldBy(tx, row, bound)
	if err != nil {
		return err
	}
	if !ok {
		return errBeyondScope()
	}
	return nil
}

// ListFor is List as the user viewerID sees it: of an account's tokens, only those within the
// user's own access (see above); total and paging count only those. An empty viewerID (the CLI,
// an account-owned token acting) sees them all.
func (s *Service) ListFor(ctx context.Context, viewerID string, owner Owner, pg Page) ([]*Token, int64, error) {
	tx := s.db.Gorm(ctx)
	bound, err := viewerBound(tx, viewerID, owner)
	if err != nil {
		return nil, 0, err
	}
	if bound == nil {
		return s.List(ctx, owner, pg)
	}
	rows, _, err := store.ListAPITokens(tx, owner.store(), pg.Ascending, 0, 4*MaxAccountTokens)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	var seen []*Token
	for i := range rows {
		ok, err := heldBy(tx, &rows[i], bound)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		t, err := fromRow(&rows[i], now)
		if err != nil {
			return nil, 0, err
		}
		seen = append(seen, t)
	}
	total := int64(len(seen))
	from := min(max(pg.Page-1, 0)*pg.PerPage, len(seen))
	to := min(from+pg.PerPage, len(seen))
	return seen[from:to], total, nil
}

// GetFor is Get as the user viewerID sees it: an account token beyond the user's own access is
// NotFound, as a token of another account is.
func (s *Service) GetFor(ctx context.Context, viewerID string, owner Owner, id string) (*Token, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "token not found")
	}
	tx := s.db.Gorm(ctx)
	row, err := store.APITokenByID(tx, owner.store(), id)
	if err != nil {
		return nil, err
	}
	bound, err := viewerBound(tx, viewerID, owner)
	if err != nil {
		return nil, err
	}
	if ok, err := heldBy(tx, row, bound); err != nil {
		return nil, err
	} else if !ok {
		return nil, errs.E(errs.NotFound, "token not found")
	}
	return fromRow(row, s.now())
}

// Sees reports whether the user viewerID sees the token t of owner (see GetFor).
func (s *Service) Sees(ctx context.Context, viewerID string, owner Owner, t *Token) (bool, error) {
	_, err := s.GetFor(ctx, viewerID, owner, t.ID)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// HiddenFrom returns the ids of the account's tokens that the user viewerID does not see (see
// ListFor); none for a user who sees them all.
func (s *Service) HiddenFrom(ctx context.Context, viewerID, accountID string) ([]string, error) {
	tx := s.db.Gorm(ctx)
	owner := AccountOwner(accountID)
	bound, err := viewerBound(tx, viewerID, owner)
	if err != nil || bound == nil {
		return nil, err
	}
	rows, _, err := store.ListAPITokens(tx, owner.store(), true, 0, 4*MaxAccountTokens)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range rows {
		ok, err := heldBy(tx, &rows[i], bound)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, rows[i].ID)
		}
	}
	return out, nil
}

// DeleteAs is Delete by c, capped by c's user's access (see above).
func (s *Service) DeleteAs(ctx context.Context, c Creator, owner Owner, id string) error {
	return s.delete(ctx, c, owner, id)
}

// cliCreator is the creator of a change made without a user: the CLI, or an account-owned token.
func cliCreator(actor audit.Actor) Creator { return Creator{Actor: actor} }
