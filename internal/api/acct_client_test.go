package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

// isStatus checks that err is cloudflare-go's error for an HTTP status (401 and 403 are swapped
// in its type names) carrying the Cloudflare code (0: any).
func isStatus(t *testing.T, err error, status, code int) {
	t.Helper()
	var codes []int
	switch status {
	case http.StatusForbidden:
		var e *cloudflare.AuthenticationError
		if !errors.As(err, &e) {
			t.Fatalf("want a 403, got %T %v", err, err)
		}
		codes = e.ErrorCodes()
	case http.StatusNotFound:
		var e *cloudflare.NotFoundError
		if !errors.As(err, &e) {
			t.Fatalf("want a 404, got %T %v", err, err)
		}
		codes = e.ErrorCodes()
	case http.StatusBadRequest, http.StatusConflict:
		var e *cloudflare.RequestError
		if !errors.As(err, &e) {
			t.Fatalf("want a %d, got %T %v", status, err, err)
		}
		codes = e.ErrorCodes()
	default:
		t.Fatalf("unexpected status %d", status)
	}
	if code != 0 && !slices.Contains(codes, code) {
		t.Fatalf("codes %v, want %d: %v", codes, code, err)
	}
}

var (
	zoneWrite = []authz.Perm{authz.ZoneWrite}
	zoneRead  = []authz.Perm{authz.ZoneRead}
)

// TestCloudflareGoZoneLifecycle: CreateZone needs Zone Write over all zones of the account;
// ZoneSetPaused and DeleteZone need Zone Write on the zone.
func TestCloudflareGoZoneLifecycle(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	_, a2 := tt.User(t, db)
	other := tt.Zone(t, db, a2.ID)
	existing := tt.Zone(t, db, a.ID)

	narrow, _ := e.mint(u, policies(tt.AllZonesOf(zoneWrite, a.ID)))
	cf := e.client(narrow)
	z, err := cf.CreateZone(bg, "New-Site.example.", false, cloudflare.Account{ID: a.ID}, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if z.Name != "new-site.example" || z.Account.ID != a.ID || z.Status != "active" || z.Paused || z.ID == "" {
		t.Fatalf("created %+v", z)
	}
	if !slices.Contains(z.Permissions, "#Zone Write") {
		t.Fatalf("permissions %v", z.Permissions)
	}
	// Duplicate: Cloudflare's 1061 in a 400.
	_, err = cf.CreateZone(bg, "new-site.example", false, cloudflare.Account{ID: a.ID}, "full")
	isStatus(t, err, http.StatusBadRequest, 1061)
	// Invalid names and types.
	for _, name := range []string{"", "nodot", "-bad-.example", "a..example", "x.123"} {
		_, err = cf.CreateZone(bg, name, false, cloudflare.Account{ID: a.ID}, "full")
		isStatus(t, err, http.StatusBadRequest, 0)
	}
	_, err = cf.CreateZone(bg, "partial.example", false, cloudflare.Account{ID: a.ID}, "partial")
	isStatus(t, err, http.StatusBadRequest, 1001)
	// Another account: 404, whatever the token says.
	_, err = cf.CreateZone(bg, "theirs.example", false, cloudflare.Account{ID: a2.ID}, "full")
	isStatus(t, err, http.StatusNotFound, 0)
	// No account: a clear 400.
	_, err = cf.CreateZone(bg, "noaccount.example", false, cloudflare.Account{}, "full")
	isStatus(t, err, http.StatusBadRequest, 1001)

	// A token limited to one zone (even with Zone Write there) cannot create zones.
	oneZone, _ := e.mint(u, policies(tt.Allow(zoneWrite, tt.ZoneKey(existing.ID))))
	_, err = e.client(oneZone).CreateZone(bg, "sneaky.example", false, cloudflare.Account{ID: a.ID}, "full")
	isStatus(t, err, http.StatusForbidden, 10000)
	res := e.do("POST", "/zones", bearerOf(oneZone), map[string]any{"name": "sneaky.example", "account": map[string]string{"id": a.ID}})
	if m := res.Body.Errors[0].Missing; m == nil || m.Resource != "com.cloudflare.api.account."+a.ID+" → com.cloudflare.api.account.zone.*" ||
		m.PermissionGroup.Name != "Zone Write" {
		t.Fatalf("denial does not name what is missing: %s", res.Raw)
	}
	// Zone Read over all zones is not enough either.
	readAll, _ := e.mint(u, policies(tt.AllZonesOf(zoneRead, a.ID)))
	_, err = e.client(readAll).CreateZone(bg, "sneaky.example", false, cloudflare.Account{ID: a.ID}, "full")
	isStatus(t, err, http.StatusForbidden, 10000)

	// Pause with the one-zone token; the read-only token is refused; another account's zone is 404.
	p, err := e.client(oneZone).ZoneSetPaused(bg, existing.ID, true)
	if err != nil || !p.Paused {
		t.Fatalf("pause: %v %+v", err, p)
	}
	if d, _ := cf.ZoneDetails(bg, existing.ID); !d.Paused {
		t.Fatal("pause not stored")
	}
	_, err = e.client(readAll).ZoneSetPaused(bg, existing.ID, false)
	isStatus(t, err, http.StatusForbidden, 10000)
	_, err = cf.ZoneSetPaused(bg, other.ID, true)
	isStatus(t, err, http.StatusNotFound, 0)
	_, err = cf.ZoneSetType(bg, existing.ID, "partial")
	isStatus(t, err, http.StatusBadRequest, 1001)
	if p, err = cf.ZoneSetPaused(bg, existing.ID, false); err != nil || p.Paused {
		t.Fatalf("unpause: %v", err)
	}

	// Delete.
	_, err = e.client(readAll).DeleteZone(bg, z.ID)
	isStatus(t, err, http.StatusForbidden, 10000)
	_, err = cf.DeleteZone(bg, other.ID)
	isStatus(t, err, http.StatusNotFound, 0)
	id, err := cf.DeleteZone(bg, z.ID)
	if err != nil || id.ID != z.ID {
		t.Fatalf("delete: %v %+v", err, id)
	}
	_, err = cf.ZoneDetails(bg, z.ID)
	isStatus(t, err, http.StatusNotFound, 0)
	var n int64
	db.Gorm(bg).Model(&store.Zone{}).Where("id = ?", other.ID).Count(&n)
	if n != 1 {
		t.Fatal("another tenant's zone was deleted")
	}
}

// TestCloudflareGoUser: UserDetails with User Details Read, UpdateUser with User Details Write.
func TestCloudflareGoUser(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	read, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))))
	write, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.UserWrite}, tt.UserKey(u.ID))))

	got, err := e.client(read).UserDetails(bg)
	if err != nil || got.ID != u.ID || got.Email != u.Email || got.CreatedOn == nil {
		t.Fatalf("details: %v %+v", err, got)
	}
	_, err = e.client(read).UpdateUser(bg, &cloudflare.User{FirstName: "Ada"})
	isStatus(t, err, http.StatusForbidden, 10000)

	cf := e.client(write)
	// The client re-sends what it read; read-only fields are ignored.
	got.FirstName, got.LastName, got.Telephone, got.Country, got.Zipcode = "Ada", "Lovelace", "+44 20 7946 0000", "gb", "NW1 6XE"
	up, err := cf.UpdateUser(bg, &got)
	if err != nil || up.FirstName != "Ada" || up.LastName != "Lovelace" || up.Country != "GB" || up.Zipcode != "NW1 6XE" {
		t.Fatalf("update: %v %+v", err, up)
	}
	again, _ := cf.UserDetails(bg)
	if again.Telephone != "+44 20 7946 0000" || again.FirstName != "Ada" {
		t.Fatalf("not stored: %+v", again)
	}
	// Email changes are refused; invalid values are refused; nothing changes.
	for _, bad := range []cloudflare.User{{Email: "new@example.com"}, {Country: "Germany"}, {Telephone: "call me"},
		{Zipcode: "<script>"}, {FirstName: string(make([]byte, 61))}} {
		_, err := cf.UpdateUser(bg, &bad)
		isStatus(t, err, http.StatusBadRequest, 0)
	}
	if after, _ := cf.UserDetails(bg); after.Email != u.Email || after.Country != "GB" || after.Telephone != again.Telephone {
		t.Fatalf("a refused update changed the user: %+v", after)
	}
	// An account-owned token has no user.
	acct, _ := e.mintAccount(u, a.ID, policies(tt.Allow([]authz.Perm{authz.AccountSettingsRead}, tt.AccountKey(a.ID))))
	_, err = e.client(acct).UserDetails(bg)
	isStatus(t, err, http.StatusForbidden, 9109)
}

// TestCloudflareGoAccounts: Accounts lists what the token may read; Account and UpdateAccount.
func TestCloudflareGoAccounts(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	owner2, b := tt.User(t, db)
	_ = owner2
	// u is Administrator of b when making the write token below, then Administrator Read Only.
	bm := tt.Member(t, db, b.ID, u, "Administrator", nil)
	_, foreign := tt.User(t, db)
	settingsRead := []authz.Perm{authz.AccountSettingsRead}

	onlyA, _ := e.mint(u, policies(tt.Allow(settingsRead, tt.AccountKey(a.ID))))
	list, info, err := e.client(onlyA).Accounts(bg, cloudflare.AccountsListParams{})
	if err != nil || len(list) != 1 || list[0].ID != a.ID || info.Total != 1 || list[0].Settings == nil {
		t.Fatalf("accounts: %v %+v %+v", err, list, info)
	}
	both, _ := e.mint(u, policies(tt.Allow(settingsRead, tt.AccountKey(a.ID), tt.AccountKey(b.ID))))
	list, _, err = e.client(both).Accounts(bg, cloudflare.AccountsListParams{})
	if err != nil || len(list) != 2 {
		t.Fatalf("accounts of a two-account token: %v %+v", err, list)
	}
	list, _, _ = e.client(both).Accounts(bg, cloudflare.AccountsListParams{Name: b.Name[:5]})
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("name filter: %+v", list)
	}
	zoneOnly, _ := e.mint(u, policies(tt.AllZonesOf(zoneRead, a.ID)))
	if list, _, err := e.client(zoneOnly).Accounts(bg, cloudflare.AccountsListParams{}); err != nil || len(list) != 0 {
		t.Fatalf("a token without Account Settings Read lists %v (%v)", list, err)
	}
	acctTok, _ := e.mintAccount(u, a.ID, policies(tt.Allow(settingsRead, tt.AccountKey(a.ID))))
	_, _, err = e.client(acctTok).Accounts(bg, cloudflare.AccountsListParams{})
	isStatus(t, err, http.StatusBadRequest, 1001)

	got, _, err := e.client(onlyA).Account(bg, a.ID)
	if err != nil || got.ID != a.ID || got.Name != a.Name || got.Type != "standard" {
		t.Fatalf("account: %v %+v", err, got)
	}
	_, _, err = e.client(onlyA).Account(bg, foreign.ID)
	isStatus(t, err, http.StatusNotFound, 0)
	_, _, err = e.client(zoneOnly).Account(bg, a.ID)
	isStatus(t, err, http.StatusForbidden, 10000)

	_, err = e.client(onlyA).UpdateAccount(bg, a.ID, cloudflare.Account{Name: "x"})
	isStatus(t, err, http.StatusForbidden, 10000)
	write, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AccountSettingsWrite}, tt.AccountKey(a.ID), tt.AccountKey(b.ID))))
	if err := db.Gorm(bg).Model(bm).Update("role_id", tt.RoleID(t, "Administrator Read Only")).Error; err != nil {
		t.Fatal(err)
	}
	e.tokens.InvalidateUser(u.ID)
	cf := e.client(write)
	got.Name = "Renamed"
	got.Settings = &cloudflare.AccountSettings{EnforceTwoFactor: true}
	// Requiring two-factor of members needs it on for oneself (else one is locked out at once).
	_, err = cf.UpdateAccount(bg, a.ID, got)
	isStatus(t, err, http.StatusBadRequest, 0)
	if err := db.Gorm(bg).Model(&store.User{}).Where("id = ?", u.ID).Update("totp_enabled_at", time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	up, err := cf.UpdateAccount(bg, a.ID, got)
	if err != nil || up.Name != "Renamed" || up.Settings == nil || !up.Settings.EnforceTwoFactor {
		t.Fatalf("update: %v %+v", err, up)
	}
	_, err = cf.UpdateAccount(bg, foreign.ID, cloudflare.Account{Name: "mine now"})
	isStatus(t, err, http.StatusNotFound, 0)
	// The user is Administrator Read Only in b: the token's grant does not lift the owner's limit.
	_, err = cf.UpdateAccount(bg, b.ID, cloudflare.Account{Name: "mine now"})
	isStatus(t, err, http.StatusForbidden, 10000)
	_, err = cf.UpdateAccount(bg, a.ID, cloudflare.Account{Name: "   "})
	isStatus(t, err, http.StatusBadRequest, 0)
	if a2, _ := store.AccountByID(db.Gorm(bg), a.ID); a2.Name != "Renamed" {
		t.Fatalf("a refused update changed the account: %q", a2.Name)
	}
}

// TestCloudflareGoMembersAndRoles drives the member and role endpoints, their paging and the
// rules on who may grant what.
func TestCloudflareGoMembersAndRoles(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	_, foreign := tt.User(t, db)
	for range 11 {
		m, _ := tt.User(t, db)
		tt.Member(t, db, a.ID, m, "DNS", nil)
	}
	read, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AccountSettingsRead}, tt.AccountKey(a.ID))))
	write, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.AccountSettingsWrite}, tt.AccountKey(a.ID)),
		tt.AllZonesOf(allZonePerms, a.ID), tt.Allow(allAcctPerms, tt.AccountKey(a.ID))))

	// Paging: 12 members, 5 a page.
	var all []cloudflare.AccountMember
	for page := 1; page <= 3; page++ {
		ms, info, err := e.client(read).AccountMembers(bg, a.ID, cloudflare.PaginationOptions{Page: page, PerPage: 5})
		if err != nil || info.Total != 12 || info.TotalPages != 3 || info.Page != page {
			t.Fatalf("page %d: %v %+v", page, err, info)
		}
		if want := min(5, 12-(page-1)*5); len(ms) != want {
			t.Fatalf("page %d holds %d, want %d", page, len(ms), want)
		}
		all = append(all, ms...)
	}
	seen := map[string]bool{}
	for _, m := range all {
		if seen[m.ID] || len(m.Roles) != 1 || m.Roles[0].Permissions == nil || m.User.Email == "" || m.Status != "accepted" {
			t.Fatalf("member %+v", m)
		}
		seen[m.ID] = true
	}
	first, err := e.client(read).AccountMember(bg, a.ID, all[0].ID)
	if err != nil || first.ID != all[0].ID || first.User.ID != u.ID || first.Roles[0].Name != "Super Administrator" {
		t.Fatalf("member: %v %+v", err, first)
	}
	_, err = e.client(read).AccountMember(bg, foreign.ID, all[0].ID)
	isStatus(t, err, http.StatusNotFound, 0)
	zoneOnly, _ := e.mint(u, policies(tt.AllZonesOf(zoneRead, a.ID)))
	_, _, err = e.client(zoneOnly).AccountMembers(bg, a.ID, cloudflare.PaginationOptions{})
	isStatus(t, err, http.StatusForbidden, 10000)

	// Roles: auto-paging list and get, permissions as objects.
	roles, err := e.client(read).ListAccountRoles(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccountRolesParams{})
	if err != nil || len(roles) != len(authz.Roles()) {
		t.Fatalf("roles: %v %d", err, len(roles))
	}
	dnsRole := tt.RoleID(t, "DNS")
	r, err := e.client(read).GetAccountRole(bg, cloudflare.AccountIdentifier(a.ID), dnsRole)
	if err != nil || r.Name != "DNS" || !r.Permissions["dns_records"].Edit || r.Permissions["billing"].Read {
		t.Fatalf("role: %v %+v", err, r)
	}
	_, err = e.client(read).GetAccountRole(bg, cloudflare.AccountIdentifier(a.ID), "0123456789abcdef0123456789abcdef")
	if err == nil {
		t.Fatal("unknown role found")
	}
	_, err = e.client(zoneOnly).ListAccountRoles(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccountRolesParams{})
	isStatus(t, err, http.StatusForbidden, 10000)

	// Invite, update, delete.
	cf := e.client(write)
	invited, err := cf.CreateAccountMember(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: "New.Person@Example.com", Roles: []string{dnsRole}})
	if err != nil || invited.Status != "pending" || invited.Code == "" || invited.User.Email != "new.person@example.com" || invited.Roles[0].ID != dnsRole {
		t.Fatalf("invite: %v %+v", err, invited)
	}
	var stored store.Membership
	db.Gorm(bg).Where("id = ?", invited.ID).Take(&stored)
	if stored.InviteCodeHash == nil || *stored.InviteCodeHash == invited.Code || len(*stored.InviteCodeHash) != 64 {
		t.Fatalf("invitation code not stored hashed: %+v", stored)
	}
	if again, _ := cf.AccountMember(bg, a.ID, invited.ID); again.Code != "" {
		t.Fatal("the invitation code is shown again")
	}
	_, err = cf.CreateAccountMember(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: "new.person@example.com", Roles: []string{dnsRole}})
	isStatus(t, err, http.StatusConflict, 0)
	_, err = cf.CreateAccountMember(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: u.Email, Roles: []string{dnsRole}})
	isStatus(t, err, http.StatusConflict, 0)
	_, err = cf.CreateAccountMember(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: "x@example.com", Roles: []string{"0123456789abcdef0123456789abcdef"}})
	isStatus(t, err, http.StatusBadRequest, 0)
	_, err = e.client(read).CreateAccountMember(bg, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: "y@example.com", Roles: []string{dnsRole}})
	isStatus(t, err, http.StatusForbidden, 10000)
	_, err = cf.CreateAccountMember(bg, cloudflare.AccountIdentifier(foreign.ID), cloudflare.CreateAccountMemberParams{
		EmailAddress: "y@example.com", Roles: []string{dnsRole}})
	isStatus(t, err, http.StatusNotFound, 0)

	target, _ := cf.AccountMember(bg, a.ID, all[1].ID)
	target.Roles = []cloudflare.AccountRole{{ID: tt.RoleID(t, "Analytics")}}
	up, err := cf.UpdateAccountMember(bg, a.ID, target.ID, target)
	if err != nil || up.Roles[0].Name != "Analytics" || up.ID != target.ID {
		t.Fatalf("update: %v %+v", err, up)
	}
	_, err = cf.UpdateAccountMember(bg, foreign.ID, target.ID, target)
	isStatus(t, err, http.StatusNotFound, 0)
	if err := cf.DeleteAccountMember(bg, a.ID, target.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = cf.AccountMember(bg, a.ID, target.ID)
	isStatus(t, err, http.StatusNotFound, 0)
	if err := cf.DeleteAccountMember(bg, a.ID, invited.ID); err != nil {
		t.Fatalf("withdraw the invitation: %v", err)
	}

	// The last Super Administrator stays.
	err = cf.DeleteAccountMember(bg, a.ID, first.ID)
	isStatus(t, err, http.StatusBadRequest, 0)
	first.Roles = []cloudflare.AccountRole{{ID: tt.RoleID(t, "Administrator")}}
	_, err = cf.UpdateAccountMember(bg, a.ID, first.ID, first)
	isStatus(t, err, http.StatusBadRequest, 0)
	if m, _ := cf.AccountMember(bg, a.ID, first.ID); m.Roles[0].Name != "Super Administrator" {
		t.Fatalf("the last Super Administrator was demoted: %+v", m)
	}
}

// TestMembersCannotGrantBeyondTheirAccess: an Administrator cannot make a Super Administrator
// nor touch one; an Administrator Read Only cannot change members at all; a member limited to a
// zone cannot grant an account-wide role.
func TestMembersCannotGrantBeyondTheirAccess(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	owner, a := tt.User(t, db)
	z := tt.Zone(t, db, a.ID)
	ownerM, _ := store.AccountMembership(db.Gorm(bg), a.ID, owner.ID)
	admin, _ := tt.User(t, db)
	tt.Member(t, db, a.ID, admin, "Administrator", nil)
	// ro was an Administrator when they made their token, and is Administrator Read Only now.
	ro, _ := tt.User(t, db)
	roM := tt.Member(t, db, a.ID, ro, "Administrator", nil)
	dnsUser, _ := tt.User(t, db)
	dnsM := tt.Member(t, db, a.ID, dnsUser, "DNS", nil)
	// Everything an Administrator holds.
	everything := func(u *store.User) string {
		s, _ := e.mint(u, policies(tt.AllZonesOf(allZonePerms, a.ID), tt.Allow([]authz.Perm{authz.AccountSettingsWrite,
			authz.AccountFirewallWrite, authz.KVWrite, authz.AccountTokensWrite, authz.BillingRead}, tt.AccountKey(a.ID))))
		return s
	}
	super, adminRole, analytics := tt.RoleID(t, "Super Administrator"), tt.RoleID(t, "Administrator"), tt.RoleID(t, "Analytics")
	put := func(secret, memberID string, body any) *response {
		return e.do("PUT", "/accounts/"+a.ID+"/members/"+memberID, bearerOf(secret), body)
	}
	adminTok := everything(admin)
	if res := put(adminTok, dnsM.ID, map[string]any{"roles": []string{super}}); res.Status != http.StatusForbidden || res.code() != 10000 {
		t.Fatalf("an Administrator made a Super Administrator: %d %s", res.Status, res.Raw)
	}
	if res := put(adminTok, ownerM.ID, map[string]any{"roles": []string{analytics}}); res.Status != http.StatusForbidden {
		t.Fatalf("an Administrator demoted the Super Administrator: %d %s", res.Status, res.Raw)
	}
	if res := put(adminTok, dnsM.ID, map[string]any{"roles": []string{adminRole}}); res.Status != http.StatusOK {
		t.Fatalf("an Administrator could not grant Administrator: %d %s", res.Status, res.Raw)
	}
	roTok := everything(ro)
	if err := db.Gorm(bg).Model(roM).Update("role_id", tt.RoleID(t, "Administrator Read Only")).Error; err != nil {
		t.Fatal(err)
	}
	e.tokens.InvalidateUser(ro.ID)
	if res := put(roTok, dnsM.ID, map[string]any{"roles": []string{analytics}}); res.Status != http.StatusForbidden {
		t.Fatalf("an Administrator Read Only changed a member: %d %s", res.Status, res.Raw)
	}
	if res := e.do("POST", "/accounts/"+a.ID+"/members", bearerOf(roTok), map[string]any{"email": "z@example.com", "roles": []string{analytics}}); res.Status != http.StatusForbidden {
		t.Fatalf("an Administrator Read Only invited: %d %s", res.Status, res.Raw)
	}
	// A token (of the Super Administrator) limited to one zone may grant a role over that zone only.
	oneZone, _ := e.mint(owner, policies(tt.Allow([]authz.Perm{authz.AccountSettingsWrite}, tt.AccountKey(a.ID)),
		tt.Allow([]authz.Perm{authz.ZoneRead, authz.AnalyticsRead}, tt.ZoneKey(z.ID))))
	body := map[string]any{"email": "scoped@example.com", "roles": []string{analytics}}
	if res := e.do("POST", "/accounts/"+a.ID+"/members", bearerOf(oneZone), body); res.Status != http.StatusForbidden {
		t.Fatalf("a one-zone token granted a role over every zone: %d %s", res.Status, res.Raw)
	}
	body["zones"] = []string{z.ID}
	if res := e.do("POST", "/accounts/"+a.ID+"/members", bearerOf(oneZone), body); res.Status != http.StatusOK {
		t.Fatalf("a one-zone token could not grant a role over its zone: %d %s", res.Status, res.Raw)
	}
	// Nothing refused was written.
	var n int64
	db.Gorm(bg).Model(&store.Membership{}).Where("account_id = ?", a.ID).Count(&n)
	if n != 5 {
		t.Fatalf("%d memberships, want 5", n)
	}
}

// TestRoleChangeAndRemovalReachTokens: a member's own token loses what their new role lacks on
// the very next request, and everything once they are removed.
func TestRoleChangeAndRemovalReachTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		owner, a := tt.User(t, db)
		z := tt.Zone(t, db, a.ID)
		member, _ := tt.User(t, db)
		m := tt.Member(t, db, a.ID, member, "Analytics", nil)
		ownerTok, _ := e.mint(owner, policies(fullAccess(owner, a.ID)...))
		memberTok, _ := e.mint(member, policies(tt.AllZonesOf([]authz.Perm{authz.ZoneRead, authz.AnalyticsRead}, a.ID)))
		path := "/zones/" + z.ID + "/analytics/dashboard"
		if res := e.do("GET", path, bearerOf(memberTok), nil); res.Status != http.StatusOK {
			t.Fatalf("before: %d %s", res.Status, res.Raw)
		}
		res := e.do("PUT", "/accounts/"+a.ID+"/members/"+m.ID, bearerOf(ownerTok), map[string]any{"roles": []string{tt.RoleID(t, "DNS")}})
		if res.Status != http.StatusOK {
			t.Fatalf("change role: %s", res.Raw)
		}
		res = e.do("GET", path, bearerOf(memberTok), nil)
		if res.Status != http.StatusForbidden || res.code() != 10000 || res.Body.Errors[0].Missing == nil {
			t.Fatalf("after the role change: %d %s", res.Status, res.Raw)
		}
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(memberTok), nil); res.Status != http.StatusOK {
			t.Fatalf("Zone Read, still in the new role: %d %s", res.Status, res.Raw)
		}
		if res := e.do("DELETE", "/accounts/"+a.ID+"/members/"+m.ID, bearerOf(ownerTok), nil); res.Status != http.StatusOK {
			t.Fatalf("remove: %s", res.Raw)
		}
		if res := e.do("GET", "/zones/"+z.ID, bearerOf(memberTok), nil); res.Status != http.StatusNotFound {
			t.Fatalf("after removal: %d %s", res.Status, res.Raw)
		}
	})
}

// TestCloudflareGoAuditLogs: both logs with filters and paging.
func TestCloudflareGoAuditLogs(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	u, a := tt.User(t, db)
	u2, a2 := tt.User(t, db)
	full, fullID := e.mint(u, policies(fullAccess(u, a.ID)...))
	cf := e.client(full)
	var zoneNames []string
	for i := range 7 {
		z, err := cf.CreateZone(bg, fmt.Sprintf("audit%d.example", i), false, cloudflare.Account{ID: a.ID}, "full")
		if err != nil {
			t.Fatal(err)
		}
		zoneNames = append(zoneNames, z.Name)
	}
	if _, err := cf.ZoneSetPaused(bg, mustZoneID(t, cf, "audit3.example"), true); err != nil {
		t.Fatal(err)
	}
	// Another tenant's activity never shows.
	e2full, _ := e.mint(u2, policies(fullAccess(u2, a2.ID)...))
	if _, err := e.client(e2full).CreateZone(bg, "other-tenant.example", false, cloudflare.Account{ID: a2.ID}, "full"); err != nil {
		t.Fatal(err)
	}

	// One change by a person in the dashboard: hide_user_logs leaves it out.
	if _, err := zones.NewService(db).Create(bg, audit.Actor{Type: audit.ActorUser, ID: u.ID, UserID: u.ID, Interface: audit.InterfaceDashboard},
		a.ID, "by-hand.example"); err != nil {
		t.Fatal(err)
	}

	// 9 entries without the user's: the sign-up (by the admin CLI), 7 zones created, 1 paused.
	res, err := cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{HideUserLogs: true, PerPage: 4, Page: 1})
	if err != nil || len(res.Result) != 4 || res.ResultInfo.Total != 9 || res.ResultInfo.TotalPages != 3 {
		t.Fatalf("page 1: %v %d %+v", err, len(res.Result), res.ResultInfo)
	}
	newest := res.Result[0]
	// A change made with a user's token is the user's, and names the token (issue 8 item 3).
	if newest.Action.Type != "zone.update" || newest.Actor.ID != u.ID || newest.Actor.Type != "user" || newest.Actor.Email != u.Email ||
		newest.Actor.IP != "127.0.0.1" || newest.Metadata["token_id"] != fullID || newest.Metadata["token_name"] != "test token" ||
		newest.Owner.ID != a.ID || newest.Resource.Type != "zone" || newest.NewValueJSON == nil || newest.OldValueJSON == nil || newest.When.IsZero() {
		t.Fatalf("entry %+v", newest)
	}
	// So actor.email finds every change the user made with their tokens.
	byEmail, err := cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{ActorEmail: u.Email, HideUserLogs: true, PerPage: 100})
	if err != nil || byEmail.ResultInfo.Total != 8 {
		t.Fatalf("actor.email=%s: %v %+v", u.Email, err, byEmail.ResultInfo)
	}
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{HideUserLogs: true, PerPage: 4, Page: 3})
	if len(res.Result) != 1 || res.Result[0].Action.Type != "user.signup" {
		t.Fatalf("last page holds %d", len(res.Result))
	}
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{ZoneName: "audit5.example."})
	if len(res.Result) != 1 || res.Result[0].Action.Type != "zone.create" {
		t.Fatalf("zone filter: %+v", res.Result)
	}
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{ID: newest.ID})
	if len(res.Result) != 1 || res.Result[0].ID != newest.ID {
		t.Fatalf("id filter: %+v", res.Result)
	}
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{ActorIP: "192.0.2.1"})
	if len(res.Result) != 0 {
		t.Fatalf("actor.ip filter: %+v", res.Result)
	}
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{Direction: "asc", HideUserLogs: true,
		Since: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), Before: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if len(res.Result) != 9 || res.Result[1].NewValueJSON["name"] != zoneNames[0] {
		t.Fatalf("ascending: %d %+v", len(res.Result), res.Result[0])
	}
	// Without hide_user_logs, the dashboard change shows too, and so does the creation of the
	// token (made in the dashboard), which reaches the account.
	res, _ = cf.GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{})
	if res.ResultInfo.Total != 11 || res.Result[0].Actor.Type != "user" {
		t.Fatalf("with user logs: %d", res.ResultInfo.Total)
	}
	if r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?action.type=update", bearerOf(full), nil); r.Status != 200 || len(mustList(t, r)) != 1 {
		t.Fatalf("action.type: %s", r.Raw)
	}
	if r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?action.type=zone.update", bearerOf(full), nil); r.Status != 200 || len(mustList(t, r)) != 1 {
		t.Fatalf("action.type=zone.update: %s", r.Raw)
	}
	if r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?action.type=zone.create", bearerOf(full), nil); r.Status != 200 || len(mustList(t, r)) != 8 {
		t.Fatalf("action.type=zone.create: %s", r.Raw)
	}
	// A page size outside 1..1000 is clamped, and result_info says what was used.
	for q, want := range map[string]string{"per_page=1001": `"per_page":1000`, "per_page=0": `"per_page":1`} {
		if r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?"+q, bearerOf(full), nil); r.Status != 200 || !strings.Contains(r.Raw, want) {
			t.Fatalf("%s: %d %s", q, r.Status, r.Raw)
		}
	}
	for _, q := range []string{"per_page=x", "page=-1", "since=yesterday", "actor.ip=999.1.1.1", "direction=up",
		"hide_user_logs=maybe", "action.type=zone%25"} {
		if r := e.do("GET", "/accounts/"+a.ID+"/audit_logs?"+q, bearerOf(full), nil); r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", q, r.Status, r.Raw)
		}
	}
	_, err = cf.GetOrganizationAuditLogs(bg, a2.ID, cloudflare.AuditLogFilter{})
	isStatus(t, err, http.StatusNotFound, 0)
	zoneOnly, _ := e.mint(u, policies(tt.AllZonesOf(zoneRead, a.ID)))
	_, err = e.client(zoneOnly).GetOrganizationAuditLogs(bg, a.ID, cloudflare.AuditLogFilter{})
	isStatus(t, err, http.StatusForbidden, 10000)

	// The user's log: their own actions (sign-up, token creations, the zones), nobody else's.
	userRead, _ := e.mint(u, policies(tt.Allow([]authz.Perm{authz.UserRead}, tt.UserKey(u.ID))))
	ul, err := e.client(userRead).GetUserAuditLogs(bg, cloudflare.AuditLogFilter{PerPage: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ul.Result {
		if x.Actor.ID == u2.ID || x.Owner.ID == a2.ID {
			t.Fatalf("another tenant's entry in the user log: %+v", x)
		}
	}
	if ul.ResultInfo.Total < 9 {
		t.Fatalf("user log holds %d", ul.ResultInfo.Total)
	}
	_, err = e.client(zoneOnly).GetUserAuditLogs(bg, cloudflare.AuditLogFilter{})
	isStatus(t, err, http.StatusForbidden, 10000)
}

func mustZoneID(t *testing.T, cf *cloudflare.API, name string) string {
	t.Helper()
	id, err := cf.ZoneIDByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustList(t *testing.T, r *response) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := jsonUnmarshal(r.Body.Result, &out); err != nil {
		t.Fatalf("result is not a list: %s", r.Raw)
	}
	return out
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
