package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// CreateSession inserts s.
func CreateSession(tx *gorm.DB, s *Session) error {
	if err := tx.Create(s).Error; err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByID returns the unexpired session with the given id (hash), or NotFound.
func SessionByID(tx *gorm.DB, id string, now time.Time) (*Session, error) {
	var s Session
	if err := tx.Where("id = ? AND expires_at > ?", id, now).Take(&s).Error; err != nil {
		return nil, notFound(err, "session")
	}
	return &s, nil
}

// UpdateSession saves the session's current account, last-seen time and expiry.
func UpdateSession(tx *gorm.DB, s *Session) error {
	if err := tx.Model(s).Select("account_id", "last_seen_at", "expires_at").Updates(s).Error; err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return nil
}

// DeleteSession removes a session; deleting a missing one is not an error.
func DeleteSession(tx *gorm.DB, id string) error {
	if err := tx.Where("id = ?", id).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user, e.g. after a password change.
func DeleteUserSessions(tx *gorm.DB, userID string) error {
	if err := tx.Where("user_id = ?", userID).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("delete sessions of user: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes a user's sessions that ended before now.
func DeleteExpiredSessions(tx *gorm.DB, userID string, now time.Time) error {
	if err := tx.Where("user_id = ? AND expires_at <= ?", userID, now).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("delete expired sessions of user: %w", err)
	}
	return nil
}

// PurgeExpiredSessions deletes every expired session and reports how many went.
func PurgeExpiredSessions(tx *gorm.DB, now time.Time) (int64, error) {
	res := tx.Where("expires_at <= ?", now).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge expired sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
