package members

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

type invalidations []string

func (i *invalidations) InvalidateUser(id string) { *i = append(*i, id) }

// TestInviteAndAccept: an invitation is accepted once, by the invited person, before it
// expires; accepting grants the role's access and invalidates the user's cached access.
func TestInviteAndAccept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var inv invalidations
		s := NewService(db, &inv)
		owner, a := tt.User(t, db)
		ownerAccess, err := tokens.UserAccess(db.Gorm(ctx), owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		invitee, _ := tt.User(t, db)
		stranger, _ := tt.User(t, db)
		actor := audit.Actor{Type: audit.ActorUser, ID: owner.ID, UserID: owner.ID, Interface: audit.InterfaceDashboard}

		m, code, err := s.Invite(ctx, actor, ownerAccess.Compiled, a.ID, invitee.Email, Change{RoleID: tt.RoleID(t, "DNS")})
		if err != nil || m.Status != store.MembershipPending || len(code) < 40 {
			t.Fatalf("invite: %v %+v", err, m)
		}
		before, _ := tokens.UserAccess(db.Gorm(ctx), invitee.ID)
		if before.Member(a.ID) {
			t.Fatal("a pending invitation grants access")
		}
		if _, err := s.Accept(ctx, audit.Actor{Type: audit.ActorUser, ID: stranger.ID}, stranger.ID, code); !errs.Is(err, errs.Invalid) {
			t.Fatalf("someone else accepted: %v", err)
		}
		if _, err := s.Accept(ctx, actor, invitee.ID, code+"x"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a wrong code was accepted: %v", err)
		}
		got, err := s.Accept(ctx, audit.Actor{Type: audit.ActorUser, ID: invitee.ID, UserID: invitee.ID}, invitee.ID, code)
		if err != nil || got.Status != store.MembershipAccepted || got.User == nil || got.User.ID != invitee.ID {
			t.Fatalf("accept: %v %+v", err, got)
		}
		if len(inv) != 1 || inv[0] != invitee.ID {
			t.Fatalf("invalidations %v", inv)
		}
		after, _ := tokens.UserAccess(db.Gorm(ctx), invitee.ID)
		z := tt.Zone(t, db, a.ID)
		if !after.Compiled.Decide(authz.DNSWrite, authz.Zone(a.ID, z.ID)).Allowed || after.Compiled.Decide(authz.ZoneWrite, authz.Zone(a.ID, z.ID)).Allowed {
			t.Fatal("accepted membership does not grant exactly the DNS role")
		}
		if _, err := s.Accept(ctx, actor, invitee.ID, code); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a code was used twice: %v", err)
		}

		// Expired invitations cannot be accepted, and do not block a new invitation.
		late, _ := tt.User(t, db)
		m2, code2, err := s.Invite(ctx, actor, ownerAccess.Compiled, a.ID, late.Email, Change{RoleID: tt.RoleID(t, "Analytics")})
		if err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Minute).UTC()
		db.Gorm(ctx).Model(&store.Membership{}).Where("id = ?", m2.ID).Update("expires_at", past)
		if _, err := s.Accept(ctx, actor, late.ID, code2); !errs.Is(err, errs.Invalid) {
			t.Fatalf("an expired invitation was accepted: %v", err)
		}
		if _, _, err := s.Invite(ctx, actor, ownerAccess.Compiled, a.ID, late.Email, Change{RoleID: tt.RoleID(t, "Analytics")}); err != nil {
			t.Fatalf("re-invite after expiry: %v", err)
		}
		var entries int64
		db.Gorm(ctx).Model(&store.AuditEntry{}).Where("action IN ?", []string{"member.create", "member.accept"}).Count(&entries)
		if entries != 4 {
			t.Fatalf("%d member audit entries, want 4", entries)
		}
	})
}
