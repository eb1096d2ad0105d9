package store

import "time"

// User is a person who signs in to the dashboard. Email is stored normalised (trimmed, lower-case).
type User struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	Name         string
	PasswordHash string
	// Profile fields of the /user API.
	FirstName string
	LastName  string
	Telephone string
	Country   string
	Zipcode   string
	// Two-factor sign-in (package twofactor): the encrypted secret, one being set up, when it
	// was turned on (nil: off) and the time step of the last code accepted.
	TOTPSecret        string     `gorm:"column:totp_secret"`
	TOTPPendingSecret string     `gorm:"column:totp_pending_secret"`
	TOTPEnabledAt     *time.Time `gorm:"column:totp_enabled_at"`
	TOTPLastStep      int64      `gorm:"column:totp_last_step"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TwoFactorEnabled reports whether the user signs in with a second factor.
func (u *User) TwoFactorEnabled() bool { return u.TOTPEnabledAt != nil }

// RecoveryCode is one of a user's single-use two-factor recovery codes, stored hashed.
type RecoveryCode struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CodeHash  string
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Account is the tenant: zones, members, account-owned tokens and audit entries belong to one.
type Account struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	Type             string
	EnforceTwofactor bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Membership statuses.
const (
	MembershipPending  = "pending"
	MembershipAccepted = "accepted"
)

// Membership gives a user a role in an account. ZoneIDs is a JSON array of zone ids, or nil for
// all zones of the account.
type Membership struct {
	ID             string `gorm:"primaryKey"`
	AccountID      string
	UserID         *string
	Email          string
	RoleID         string
	ZoneIDs        *string
	Status         string
	InviteCodeHash *string
	InvitedBy      *string
	ExpiresAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Zone is a domain in an account. Name is lower-case without a trailing dot.
type Zone struct {
	ID        string `gorm:"primaryKey"`
	AccountID string
	Name      string
	Status    string
	Paused    bool
	Type      string
	Plan      string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ActivatedOn is when the zone became active; nil while it is pending.
	ActivatedOn *time.Time
}

// Session is a signed-in dashboard session. ID is the SHA-256 (hex) of the secret in the cookie.
type Session struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	AccountID  *string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID           string `gorm:"primaryKey"`
	AccountID    *string
	OwnerUserID  *string
	ActorType    string
	ActorID      string
	ActorEmail   string
	ActorIP      string
	UserAgent    string
	Interface    string
	Action       string
	ResourceType string
	ResourceID   string
	ZoneID       string
	ZoneName     string
	OldValue     *string
	NewValue     *string
	Result       bool
	CreatedAt    time.Time
	// TokenID and TokenName name the API token the change was made with, if any.
	TokenID   string
	TokenName string
	// ResourceName names the resource beside ResourceID (record name, member email, token name).
	ResourceName string
	// Chain, Seq, PrevHash and Hash place the entry in its tamper-evident chain (see AppendAuditEntry).
	Chain    *string
	Seq      *int64
	PrevHash *string
	Hash     *string
}
