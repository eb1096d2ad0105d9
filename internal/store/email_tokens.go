package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Kinds of email token.
const (
	EmailTokenPasswordReset = "password_reset"
	EmailTokenSignUp        = "signup"
	EmailTokenEmailChange   = "email_change"
)

// EmailToken is a one-time link sent by mail; ID is the SHA-256 of its secret.
type EmailToken struct {
	ID        string `gorm:"primaryKey"`
	Kind      string
	UserID    *string
	Email     string
	Payload   string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// CreateEmailToken inserts t.
func CreateEmailToken(tx *gorm.DB, t *EmailToken) error {
	if err := tx.Create(t).Error; err != nil {
		return fmt.Errorf("create email token: %w", err)
	}
	return nil
}

// LiveEmailToken returns the unused, unexpired token of kind with this id, or NotFound.
func LiveEmailToken(tx *gorm.DB, id, kind string, now time.Time) (*EmailToken, error) {
	var t EmailToken
	if err := tx.Where("id = ? AND kind = ? AND used_at IS NULL AND expires_at > ?", id, kind, now).Take(&t).Error; err != nil {
		return nil, notFound(err, "link")
	}
	return &t, nil
}

// UseEmailToken spends the live token of kind with this id and returns it; a used, expired or
// unknown token is NotFound. Of two requests racing with one link, only one gets it.
func UseEmailToken(tx *gorm.DB, id, kind string, now time.Time) (*EmailToken, error) {
	t, err := LiveEmailToken(tx, id, kind, now)
	if err != nil {
		return nil, err
	}
	res := tx.Model(&EmailToken{}).Where("id = ? AND used_at IS NULL", id).Update("used_at", now)
	if res.Error != nil {
		return nil, fmt.Errorf("use email token: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, notFound(gorm.ErrRecordNotFound, "link")
	}
	t.UsedAt = &now
	return t, nil
}

// VoidEmailTokens spends every live token of kind for userID (a new reset link voids the old).
func VoidEmailTokens(tx *gorm.DB, userID, kind string, now time.Time) error {
	err := tx.Model(&EmailToken{}).Where("user_id = ? AND kind = ? AND used_at IS NULL", userID, kind).Update("used_at", now).Error
	if err != nil {
		return fmt.Errorf("void email tokens: %w", err)
	}
	return nil
}

// SetPasswordHash stores a new password hash for userID.
func SetPasswordHash(tx *gorm.DB, userID, hash string, now time.Time) error {
	err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"password_hash": hash, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// DeleteOtherSessions ends every session of userID except keep.
func DeleteOtherSessions(tx *gorm.DB, userID, keep string) (int64, error) {
	res := tx.Where("user_id = ? AND id <> ?", userID, keep).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete other sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// LiveSessions returns userID's unexpired sessions, most recently seen first.
func LiveSessions(tx *gorm.DB, userID string, now time.Time) ([]Session, error) {
	var out []Session
	if err := tx.Where("user_id = ? AND expires_at > ?", userID, now).Order("last_seen_at DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// SignedInFrom reports whether userID ever signed in successfully from ip (per the audit log).
func SignedInFrom(tx *gorm.DB, userID, ip string) (bool, error) {
	var n int64
	err := tx.Model(&AuditEntry{}).Where("owner_user_id = ? AND action = ? AND actor_ip = ? AND result = ?",
		userID, "user.signin", ip, true).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("earlier sign-ins: %w", err)
	}
	return n > 0, nil
}
