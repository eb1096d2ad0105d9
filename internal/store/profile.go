package store

import (
	"fmt"

	"gorm.io/gorm"
)

// UpdateUserProfile saves the profile fields of the /user API (first and last name, telephone,
// country, zipcode) and updated_at. Email and password change elsewhere.
func UpdateUserProfile(tx *gorm.DB, u *User) error {
	err := tx.Model(u).Select("first_name", "last_name", "telephone", "country", "zipcode", "updated_at").Updates(u).Error
	if err != nil {
		return fmt.Errorf("update user profile: %w", err)
	}
	return nil
}
