package store

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchkey/latchkey/internal/errs"
)

// CreateUser inserts u. A taken email is a Conflict error on the "email" field.
func CreateUser(tx *gorm.DB, u *User) error {
	if err := tx.Create(u).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("email", "An account with this email already exists.").WithCode(errs.Conflict)
		}
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by normalised email.
func UserByEmail(tx *gorm.DB, email string) (*User, error) {
	var u User
	if err := tx.Where("email = ?", email).Take(&u).Error; err != nil {
		return nil, notFound(err, "user")
	}
	return &u, nil
}

// UserByID finds a user by id.
func UserByID(tx *gorm.DB, id string) (*User, error) {
	var u User
	if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, notFound(err, "user")
	}
	return &u, nil
}

// UpdateUser saves the user's mutable fields.
func UpdateUser(tx *gorm.DB, u *User) error {
	if err := tx.Model(u).Select("name", "email", "password_hash", "updated_at").Updates(u).Error; err != nil {
		if IsDuplicate(err) {
			return errs.InvalidField("email", "An account with this email already exists.").WithCode(errs.Conflict)
		}
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// LockUser takes a row lock on the user for the rest of tx on PostgreSQL, so that concurrent
// changes counted per user (such as the token quota) run one after the other. SQLite transactions
// begin IMMEDIATE and are serialised already. A missing user is NotFound.
func LockUser(tx *gorm.DB, userID string) error {
	var u User
	q := tx.Select("id").Where("id = ?", userID)
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&u).Error; err != nil {
		return notFound(err, "user")
	}
	return nil
}
