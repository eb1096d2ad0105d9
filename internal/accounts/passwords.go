package accounts

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// ChangePassword replaces userID's password after checking the current one, and ends every other
// session of the user (keepSession, the session making the change, stays). Pending reset links
// are voided.
func (s *Service) ChangePassword(ctx context.Context, actor audit.Actor, userID, current, password, keepSession string) error {
	u, err := store.UserByID(s.db.Gorm(ctx), userID)
	if err != nil {
		return err
	}
	if len(current) > MaxPasswordLength || !CheckPassword(u.PasswordHash, current) {
		return errs.InvalidField("current_password", "That is not your current password.")
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	now := time.Now().UTC()
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.SetPasswordHash(tx, userID, hash, now); err != nil {
			return err
		}
		n, err := store.DeleteOtherSessions(tx, userID, keepSession)
		if err != nil {
			return err
		}
		if err := store.VoidEmailTokens(tx, userID, store.EmailTokenPasswordReset, now); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.password.change", ResourceType: "user",
			ResourceID: userID, ResourceName: u.Email, New: map[string]any{"other_sessions_ended": n}})
	})
}

// SetPassword gives userID a new password without the old one (a reset link, or the admin
// command line) and ends every session of the user. Pending reset links are voided.
func (s *Service) SetPassword(ctx context.Context, actor audit.Actor, userID, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	now := time.Now().UTC()
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if err := store.SetPasswordHash(tx, userID, hash, now); err != nil {
			return err
		}
		if err := store.DeleteUserSessions(tx, userID); err != nil {
			return err
		}
		if err := store.VoidEmailTokens(tx, userID, store.EmailTokenPasswordReset, now); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.password.reset", ResourceType: "user",
			ResourceID: userID, ResourceName: u.Email})
	})
}

// SetName changes the user's display name (at most 100 characters).
func (s *Service) SetName(ctx context.Context, actor audit.Actor, userID, name string) error {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 || !printable(name) {
		return errs.InvalidField("name", "Use at most 100 printable characters.")
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		old := u.Name
		u.Name, u.UpdatedAt = name, time.Now().UTC()
		if err := store.UpdateUser(tx, u); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.update", ResourceType: "user",
			ResourceID: userID, ResourceName: u.Email, Old: map[string]string{"name": old}, New: map[string]string{"name": name}})
	})
}

// ChangeEmail gives userID the address email (confirmed by a link sent to it). A taken address
// is a Conflict; the user's accepted memberships follow the new address.
func (s *Service) ChangeEmail(ctx context.Context, actor audit.Actor, userID, email string) (*store.User, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var u *store.User
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if u, err = store.UserByID(tx, userID); err != nil {
			return err
		}
		old := u.Email
		u.Email, u.UpdatedAt = norm, time.Now().UTC()
		if err := store.UpdateUser(tx, u); err != nil {
			return err
		}
		if err := tx.Model(&store.Membership{}).Where("user_id = ? AND status = ?", userID, store.MembershipAccepted).
			Update("email", norm).Error; err != nil {
			if store.IsDuplicate(err) {
				return errs.InvalidField("email", "An invitation to that address is pending in one of your accounts.").WithCode(errs.Conflict)
			}
			return err
		}
		return audit.Record(tx, actor, audit.Event{OwnerUserID: userID, Action: "user.email.change", ResourceType: "user",
			ResourceID: userID, ResourceName: norm, Old: map[string]string{"email": old}, New: map[string]string{"email": norm}})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
