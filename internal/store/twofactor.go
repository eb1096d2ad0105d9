package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SetPendingTOTP stores a sealed secret being set up for userID.
func SetPendingTOTP(tx *gorm.DB, userID, sealed string) error {
	if err := tx.Model(&User{}).Where("id = ?", userID).Update("totp_pending_secret", sealed).Error; err != nil {
		return fmt.Errorf("store pending two-factor secret: %w", err)
	}
	return nil
}

// EnableTOTP turns two-factor on for userID with sealed as its secret, lastStep the step of the
// confirming code.
func EnableTOTP(tx *gorm.DB, userID, sealed string, lastStep int64, now time.Time) error {
	err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"totp_secret": sealed,
		"totp_pending_secret": "", "totp_enabled_at": now, "totp_last_step": lastStep, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("enable two-factor: %w", err)
	}
	return nil
}

// DisableTOTP turns two-factor off for userID and deletes its recovery codes.
func DisableTOTP(tx *gorm.DB, userID string, now time.Time) error {
	err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"totp_secret": "",
		"totp_pending_secret": "", "totp_enabled_at": nil, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("disable two-factor: %w", err)
	}
	return ReplaceRecoveryCodes(tx, userID, nil, now)
}

// UseTOTPStep records that a code of step was accepted for userID. It reports false when a code
// of that step or a later one was accepted already (a replay), so each code works once even when
// two requests race.
func UseTOTPStep(tx *gorm.DB, userID string, step int64) (bool, error) {
	res := tx.Model(&User{}).Where("id = ? AND totp_last_step < ? AND totp_enabled_at IS NOT NULL", userID, step).
		Update("totp_last_step", step)
	if res.Error != nil {
		return false, fmt.Errorf("use two-factor code: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReplaceRecoveryCodes deletes userID's recovery codes and stores hashes as the new ones.
func ReplaceRecoveryCodes(tx *gorm.DB, userID string, hashes []string, now time.Time) error {
	if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	for _, h := range hashes {
		if err := tx.Create(&RecoveryCode{ID: NewID(), UserID: userID, CodeHash: h, CreatedAt: now}).Error; err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode spends userID's unused recovery code with this hash; it reports false when
// there is none (wrong, or used already).
func UseRecoveryCode(tx *gorm.DB, userID, hash string, now time.Time) (bool, error) {
	res := tx.Model(&RecoveryCode{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, hash).
		Update("used_at", now)
	if res.Error != nil {
		return false, fmt.Errorf("use recovery code: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// UnusedRecoveryCodes counts userID's recovery codes not used yet.
func UnusedRecoveryCodes(tx *gorm.DB, userID string) (int64, error) {
	var n int64
	if err := tx.Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// TwoFactorBlockedAccounts returns the accounts userID is an accepted member of that require
// two-factor sign-in while userID has it off: the user (and their tokens) are kept out of them.
func TwoFactorBlockedAccounts(tx *gorm.DB, userID string) ([]string, error) {
	var ids []string
	err := tx.Table("memberships").Select("memberships.account_id").
		Joins("JOIN accounts ON accounts.id = memberships.account_id").
		Joins("JOIN users ON users.id = memberships.user_id").
		Where("memberships.user_id = ? AND memberships.status = ? AND accounts.enforce_twofactor = ? AND users.totp_enabled_at IS NULL",
			userID, MembershipAccepted, true).
		Pluck("memberships.account_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("accounts requiring two-factor: %w", err)
	}
	return ids, nil
}

// AcceptedMemberIDs returns the user ids of an account's accepted members.
func AcceptedMemberIDs(tx *gorm.DB, accountID string) ([]string, error) {
	var ids []string
	err := tx.Model(&Membership{}).Where("account_id = ? AND status = ? AND user_id IS NOT NULL", accountID, MembershipAccepted).
		Pluck("user_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("members of account: %w", err)
	}
	return ids, nil
}
