// Package members manages who belongs to an account and with which role: listing, invitations
// (pending memberships with a hashed one-time code), role changes and removals. It is shared by
// the API and the dashboard.
//
// Two rules hold for every change, whoever makes it: nobody grants a role (or changes or removes a
// member whose role) exceeds their own access, and an account always keeps at least one Super
// Administrator over all of its zones. A change to an accepted member reaches their API tokens on
// the next request: the change feed entry is written in the same transaction and this process's
// token cache is invalidated after the commit.
package members

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
)

// InvitationLifetime is how long an invitation's one-time code stays valid.
const InvitationLifetime = 7 * 24 * time.Hour

// Granter is the access of whoever makes a change: an API token's principal
// (*tokens.Principal) or a dashboard user's compiled access (*authz.Compiled).
type Granter interface {
	Decide(p authz.Perm, r authz.Resource) authz.Decision
}

// Invalidator drops a user's cached access; *tokens.Service is one.
type Invalidator interface {
	InvalidateUser(userID string)
}

// Service manages memberships.
type Service struct {
	db     *store.DB
	inv    Invalidator
	now    func() time.Time
	limits *billing.Limits
}

// UseLimits makes Invite refuse a member over the account plan's limit (internal/billing).
func (s *Service) UseLimits(l *billing.Limits) { s.limits = l }

// NewService returns a Service over db that invalidates changed users' tokens through inv (nil:
// other processes and this one learn through the change feed only).
func NewService(db *store.DB, inv Invalidator) *Service {
	return &Service{db: db, inv: inv, now: func() time.Time { return time.Now().UTC() }}
}

// Member is a membership with its user (nil while an invitation is pending).
type Member struct {
	store.Membership
	User *store.User
	Role authz.Role
	// Zones is the membership's zone scope; nil means every zone of the account.
	Zones []string
}

// Change is a role and zone scope to give a member.
type Change struct {
	RoleID string
	// Zones limits the role's zone permissions to these zones of the account; nil means all
	// zones.
	Zones []string
}

// List returns one page of the account's members, oldest first, and the total count.
func (s *Service) List(ctx context.Context, accountID string, page, perPage int) ([]Member, int64, error) {
	tx := s.db.Gorm(ctx)
	ms, total, err := store.ListMemberships(tx, accountID, (page-1)*perPage, perPage)
	if err != nil {
		return nil, 0, err
	}
	out, err := s.load(tx, ms)
	return out, total, err
}

// Get returns one member of the account; an id of another account is NotFound.
func (s *Service) Get(ctx context.Context, accountID, id string) (*Member, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "member not found")
	}
	tx := s.db.Gorm(ctx)
	m, err := store.MembershipByID(tx, accountID, id)
	if err != nil {
		return nil, err
	}
	out, err := s.load(tx, []store.Membership{*m})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

func (s *Service) load(tx *gorm.DB, ms []store.Membership) ([]Member, error) {
	var ids []string
	for _, m := range ms {
		if m.UserID != nil {
			ids = append(ids, *m.UserID)
		}
	}
	users, err := store.UsersByID(tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = Member{Membership: m}
		if m.UserID != nil {
			out[i].User = users[*m.UserID]
		}
		out[i].Role, _ = authz.RoleByID(m.RoleID)
		if out[i].Zones, err = m.ZoneScope(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Invite adds a pending membership for email with the given role and returns it with its
// one-time code, the only time the code is shown (only its SHA-256 is kept). Inviting someone
// who is already a member, or already invited, is a Conflict.
func (s *Service) Invite(ctx context.Context, actor audit.Actor, g Granter, accountID, email string, c Change) (*Member, string, error) {
	email, err := accounts.NormalizeEmail(email)
	if err != nil {
		return nil, "", err
	}
	code, hash := newCode()
	now := s.now()
	exp := now.Add(InvitationLifetime)
	m := &store.Membership{ID: store.NewID(), AccountID: accountID, Email: email, Status: store.MembershipPending,
		InviteCodeHash: &hash, ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
	if actor.ID != "" {
		by := actor.ID
		m.InvitedBy = &by
	}
	var out *Member
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		role, zones, err := s.validate(tx, g, accountID, c)
		if err != nil {
			return err
		}
		m.RoleID = role.ID
		m.SetZoneScope(zones)
		if err := store.DeleteExpiredInvitation(tx, accountID, email, now); err != nil {
			return err
		}
		existing, err := store.MembershipByEmail(tx, accountID, email)
		switch {
		case err == nil && existing.Status == store.MembershipAccepted:
			return errs.InvalidField("email", "%s is already a member of this account.", email).WithCode(errs.Conflict)
		case err == nil:
			return errs.InvalidField("email", "%s has already been invited to this account.", email).WithCode(errs.Conflict)
		case !errs.Is(err, errs.NotFound):
			return err
		}
		if err := s.limits.CheckAdd(tx, accountID, billing.LimitMembers, 1); err != nil {
			return err
		}
		if err := store.CreateMembership(tx, m); err != nil {
			return err
		}
		out = &Member{Membership: *m, Role: role, Zones: zones}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "member.create", ResourceType: "member",
			ResourceID: m.ID, New: summary(out)})
	})
	if err != nil {
		return nil, "", err
	}
	return out, code, nil
}

// Update gives a member a new role and zone scope.
func (s *Service) Update(ctx context.Context, actor audit.Actor, g Granter, accountID, id string, c Change) (*Member, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "member not found")
	}
	var out *Member
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		m, old, err := s.changeable(tx, g, accountID, id)
		if err != nil {
			return err
		}
		role, zones, err := s.validate(tx, g, accountID, c)
		if err != nil {
			return err
		}
		if old.Role.ID == accounts.SuperAdministratorRoleID && old.Zones == nil &&
			(role.ID != accounts.SuperAdministratorRoleID || zones != nil) {
			if err := lastSuperAdmin(tx, m); err != nil {
				return err
			}
		}
		m.RoleID = role.ID
		m.SetZoneScope(zones)
		m.UpdatedAt = s.now()
		if err := store.UpdateMembership(tx, m); err != nil {
			return err
		}
		out = &Member{Membership: *m, User: old.User, Role: role, Zones: zones}
		if m.UserID != nil {
			if err := tokens.NoteUserChange(tx, *m.UserID); err != nil {
				return err
			}
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, OwnerUserID: ownerOf(actor, m), Action: "member.update",
			ResourceType: "member", ResourceID: m.ID, Old: summary(old), New: summary(out)})
	})
	if err != nil {
		return nil, err
	}
	s.invalidate(out.UserID)
	return out, nil
}

// Remove deletes a member (or withdraws an invitation).
func (s *Service) Remove(ctx context.Context, actor audit.Actor, g Granter, accountID, id string) error {
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "member not found")
	}
	var userID *string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		m, old, err := s.changeable(tx, g, accountID, id)
		if err != nil {
			return err
		}
		if old.Role.ID == accounts.SuperAdministratorRoleID && old.Zones == nil {
			if err := lastSuperAdmin(tx, m); err != nil {
				return err
			}
		}
		if err := store.DeleteMembership(tx, accountID, id); err != nil {
			return err
		}
		userID = m.UserID
		if m.UserID != nil {
			if err := tokens.NoteUserChange(tx, *m.UserID); err != nil {
				return err
			}
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, OwnerUserID: ownerOf(actor, m), Action: "member.delete",
			ResourceType: "member", ResourceID: m.ID, Old: summary(old)})
	})
	if err != nil {
		return err
	}
	s.invalidate(userID)
	return nil
}

// Accept turns the pending invitation with the one-time code into an accepted membership of
// userID. The invitation must be addressed to the user's email and not expired. Every failure
// reads the same, so that codes cannot be probed.
func (s *Service) Accept(ctx context.Context, actor audit.Actor, userID, code string) (*Member, error) {
	invalid := errs.InvalidField("code", "This invitation is not valid: it may have expired or been withdrawn.")
	if len(code) < 20 || len(code) > 100 {
		return nil, invalid
	}
	sum := sha256.Sum256([]byte(code))
	hash := hex.EncodeToString(sum[:])
	var out *Member
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		m, err := store.MembershipByInviteHash(tx, hash)
		if errs.Is(err, errs.NotFound) {
			return invalid
		}
		if err != nil {
			return err
		}
		u, err := store.UserByID(tx, userID)
		if err != nil {
			return err
		}
		if u.Email != m.Email || m.ExpiresAt == nil || !s.now().Before(*m.ExpiresAt) {
			return invalid
		}
		m.UserID, m.Status, m.InviteCodeHash, m.ExpiresAt, m.UpdatedAt = &u.ID, store.MembershipAccepted, nil, nil, s.now()
		if err := store.UpdateMembership(tx, m); err != nil {
			return err
		}
		ms, err := s.load(tx, []store.Membership{*m})
		if err != nil {
			return err
		}
		out = &ms[0]
		if err := tokens.NoteUserChange(tx, u.ID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: m.AccountID, OwnerUserID: u.ID, Action: "member.accept",
			ResourceType: "member", ResourceID: m.ID, New: summary(out)})
	})
	if err != nil {
		return nil, err
	}
	s.invalidate(out.UserID)
	return out, nil
}

func (s *Service) invalidate(userID *string) {
	if userID != nil && s.inv != nil {
		s.inv.InvalidateUser(*userID)
	}
}

// changeable loads a member that g may change: g must hold everything the member's current role
// grants.
func (s *Service) changeable(tx *gorm.DB, g Granter, accountID, id string) (*store.Membership, *Member, error) {
	m, err := store.MembershipByID(tx, accountID, id)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.load(tx, []store.Membership{*m})
	if err != nil {
		return nil, nil, err
	}
	old := &ms[0]
	if err := canGrant(g, accountID, old.Role, old.Zones); err != nil {
		return nil, nil, errs.E(errs.Forbidden, "You cannot change this member: their role %s exceeds your own access (%s).",
			old.Role.Name, errs.MessageOf(err))
	}
	return m, old, nil
}

// validate checks a role and zone scope and that g may grant them.
func (s *Service) validate(tx *gorm.DB, g Granter, accountID string, c Change) (authz.Role, []string, error) {
	role, ok := authz.RoleByID(c.RoleID)
	if !ok {
		return authz.Role{}, nil, errs.InvalidField("roles", "Unknown role %q: list the roles with GET /accounts/{account_id}/roles.", c.RoleID)
	}
	var zones []string
	if c.Zones != nil {
		if len(c.Zones) == 0 {
			return authz.Role{}, nil, errs.InvalidField("zones", "Name at least one zone, or leave zones out for every zone of the account.")
		}
		zones = slices.Clone(c.Zones)
		slices.Sort(zones)
		zones = slices.Compact(zones)
		for _, id := range zones {
			if !store.ValidID(id) {
				return authz.Role{}, nil, errs.InvalidField("zones", "%q is not a zone id.", id)
			}
			if _, err := store.ZoneByID(tx, accountID, id); err != nil {
				if errs.Is(err, errs.NotFound) {
					return authz.Role{}, nil, errs.InvalidField("zones", "The account has no zone %s.", id)
				}
				return authz.Role{}, nil, err
			}
		}
	}
	if err := canGrant(g, accountID, role, zones); err != nil {
		return authz.Role{}, nil, err
	}
	return role, zones, nil
}

// canGrant checks that g holds every permission role grants over the account (or over the listed
// zones). "All zones of the account" is checked on a zone id that does not exist yet, which only
// an account-wide or global grant reaches.
func canGrant(g Granter, accountID string, role authz.Role, zones []string) error {
	fresh := authz.Zone(accountID, store.NewID())
	for _, p := range role.Perms {
		var rs []authz.Resource
		switch p.Scope() {
		case authz.ScopeAccount:
			rs = []authz.Resource{authz.Account(accountID)}
		case authz.ScopeZone:
			if zones == nil {
				rs = []authz.Resource{fresh}
			} else {
				for _, z := range zones {
					rs = append(rs, authz.Zone(accountID, z))
				}
			}
		}
		for _, r := range rs {
			if !g.Decide(p, r).Allowed {
				where := "every zone of the account"
				switch {
				case r.Scope == authz.ScopeAccount:
					where = "the account"
				case zones != nil:
					where = "zone " + r.ID
				}
				return errs.E(errs.Forbidden, "You cannot grant the role %s: it includes %q on %s, which you do not hold.", role.Name, p.String(), where)
			}
		}
	}
	return nil
}

// lastSuperAdmin refuses to take Super Administrator away from m when no other member of the
// account holds it over all zones.
func lastSuperAdmin(tx *gorm.DB, m *store.Membership) error {
	if m.Status != store.MembershipAccepted {
		return nil
	}
	n, err := store.CountAccountRole(tx, m.AccountID, accounts.SuperAdministratorRoleID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return errs.InvalidField("roles", "This is the account's last Super Administrator: make someone else Super Administrator first.")
	}
	return nil
}

// ownerOf is whose "my activity" log a member change appears in: the acting user's, unless an
// account-owned token acted, then the affected member's.
func ownerOf(actor audit.Actor, m *store.Membership) string {
	if actor.UserID == "" && m.UserID != nil {
		return *m.UserID
	}
	return ""
}

// summary is a member as the audit log records it: never the invitation code or its hash.
func summary(m *Member) map[string]any {
	out := map[string]any{"email": m.Email, "status": m.Status, "role": m.Role.Name, "role_id": m.RoleID}
	if m.Zones != nil {
		out["zones"] = m.Zones
	}
	return out
}

func newCode() (code, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("members: crypto/rand failed: " + err.Error())
	}
	code = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(code))
	return code, hex.EncodeToString(sum[:])
}

// Invitation is what the accept page shows about a pending invitation: to whom it was sent, the
// account, who invited and with which role and zones, and until when it is valid.
type Invitation struct {
	Email, Account, Inviter, Role string
	// Zones names the zones the role is limited to; nil means every zone of the account.
	Zones     []string
	ExpiresAt time.Time
}

// errInvalidInvitation is the one answer for any code that cannot be used, so codes cannot be probed.
var errInvalidInvitation = errs.InvalidField("code", "This invitation is not valid: it may have expired, been withdrawn or replaced by a newer one.")

// pendingByCode finds the valid, unexpired pending invitation with code.
func (s *Service) pendingByCode(tx *gorm.DB, code string) (*store.Membership, error) {
	if len(code) < 20 || len(code) > 100 {
		return nil, errInvalidInvitation
	}
	sum := sha256.Sum256([]byte(code))
	m, err := store.MembershipByInviteHash(tx, hex.EncodeToString(sum[:]))
	if errs.Is(err, errs.NotFound) {
		return nil, errInvalidInvitation
	}
	if err != nil {
		return nil, err
	}
	if m.ExpiresAt == nil || !s.now().Before(*m.ExpiresAt) {
		return nil, errInvalidInvitation
	}
	return m, nil
}

// Peek returns the details of the pending invitation with code without accepting it. A code that
// is unknown, used, replaced by a resend, withdrawn or expired is Invalid, always with the same
// message.
func (s *Service) Peek(ctx context.Context, code string) (*Invitation, error) {
	tx := s.db.Gorm(ctx)
	m, err := s.pendingByCode(tx, code)
	if err != nil {
		return nil, err
	}
	var acct store.Account
	if err := tx.Where("id = ?", m.AccountID).Take(&acct).Error; err != nil {
		return nil, err
	}
	out := &Invitation{Email: m.Email, Account: acct.Name, Inviter: "An administrator", ExpiresAt: *m.ExpiresAt}
	if role, ok := authz.RoleByID(m.RoleID); ok {
		out.Role = role.Name
	}
	if m.InvitedBy != nil {
		if u, err := store.UserByID(tx, *m.InvitedBy); err == nil {
			out.Inviter = u.Email
		} else if name, _, err := store.TokenActorNames(tx, *m.InvitedBy); err == nil {
			out.Inviter = name + " (API token)"
		}
	}
	zones, err := m.ZoneScope()
	if err != nil {
		return nil, err
	}
	if zones != nil {
		out.Zones = []string{}
		if err := tx.Model(&store.Zone{}).Where("account_id = ? AND id IN ?", m.AccountID, zones).Order("name").Pluck("name", &out.Zones).Error; err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Resend gives a pending invitation a new one-time code and a new expiry and returns the code;
// the old code stops working at once. Whoever resends must be allowed to change the member, as
// for Update. An accepted member is Invalid.
func (s *Service) Resend(ctx context.Context, actor audit.Actor, g Granter, accountID, id string) (*Member, string, error) {
	if !store.ValidID(id) {
		return nil, "", errs.E(errs.NotFound, "member not found")
	}
	code, hash := newCode()
	var out *Member
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		m, old, err := s.changeable(tx, g, accountID, id)
		if err != nil {
			return err
		}
		if m.Status != store.MembershipPending {
			return errs.E(errs.Invalid, "%s has already accepted; there is nothing to resend.", m.Email)
		}
		now := s.now()
		exp := now.Add(InvitationLifetime)
		m.InviteCodeHash, m.ExpiresAt, m.UpdatedAt = &hash, &exp, now
		if err := store.UpdateMembership(tx, m); err != nil {
			return err
		}
		out = &Member{Membership: *m, Role: old.Role, Zones: old.Zones}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "member.invite_resend", ResourceType: "member",
			ResourceID: m.ID, Old: map[string]any{"email": m.Email, "expires_at": old.ExpiresAt}, New: map[string]any{"email": m.Email, "expires_at": exp}})
	})
	if err != nil {
		return nil, "", err
	}
	return out, code, nil
}

// Leave takes userID out of accountID. The account's last Super Administrator (over all zones)
// cannot leave: someone else must be made one first.
func (s *Service) Leave(ctx context.Context, actor audit.Actor, accountID, userID string) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		m, err := store.AccountMembership(tx, accountID, userID)
		if err != nil {
			return err
		}
		if m.RoleID == accounts.SuperAdministratorRoleID && m.ZoneIDs == nil {
			if err := lastSuperAdmin(tx, m); err != nil {
				return errs.E(errs.Invalid, "You are the last Super Administrator of this account: make someone else Super Administrator first.")
			}
		}
		if err := store.DeleteMembership(tx, accountID, m.ID); err != nil {
			return err
		}
		if err := tokens.NoteUserChange(tx, userID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, OwnerUserID: userID, Action: "member.leave",
			ResourceType: "member", ResourceID: m.ID, ResourceName: m.Email})
	})
	if err != nil {
		return err
	}
	s.invalidate(&userID)
	return nil
}
