// Package seed fills a database with a realistic, valid data set for scale measurements: one new
// account of an existing user holding N zones, M DNS records in (some of) them, K account-owned API
// tokens, and three named user tokens that a load driver uses (all zones, one zone, and an ACME
// DNS-01 token constrained to TXT records under _acme-challenge).
//
// It writes through the store in batches, each inside one transaction, and writes the same rows
// the services would: zones named and shaped as internal/zones creates them, DNS records built by
// internal/dns (validated, with their stored content and identity), tokens built by
// internal/tokens (hashed secrets, validated policies), and the change-feed rows those writes
// produce, so that running server processes see the new data. The three named tokens go through
// tokens.Service.Create itself. What it skips is what cannot apply to rows it generates: the
// per-row duplicate and overlap checks (names are unique by construction and carry a random run
// label) and the per-row audit entries; one audit entry, "admin.seed", names the whole action.
// On PostgreSQL it ends with VACUUM (ANALYZE) of the tables it filled, as autovacuum would soon
// do, so that measurements right after a seed see the plans of a settled database.
//
// The K bulk tokens respect the token quota: at most tokens.MaxAccountTokens per account. The
// first go to the seed account; beyond that the seed signs up a separate holder user (no usable
// password) whose further accounts ("<name> tokens 2", …) hold them, so that the seeding user's
// memberships — which every listing of theirs starts from — stay the two accounts they would
// have (their own and the seed account) whatever K is.
package seed

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
)

// Action is the audit action of a seed run.
const Action = "admin.seed"

// DefaultBatch is how many rows one transaction writes when Options.Batch is zero.
const DefaultBatch = 5000

// Options say what to seed.
type Options struct {
	// UserID is the existing user who owns the new account(s) and the named tokens.
	UserID string
	// AccountName names the new account; empty means "Seed <run label>".
	AccountName string
	// Zones is the number of zones in the new account (at least 1).
	Zones int
	// RecordsPerZone is the number of DNS records written in each zone that gets records.
	RecordsPerZone int
	// ZonesWithRecords is how many zones (the first ones) get RecordsPerZone records; 0 means all.
	ZonesWithRecords int
	// Tokens is the number of bulk account-owned tokens (for token-cache scale).
	Tokens int
	// Batch is the number of rows per transaction; 0 means DefaultBatch.
	Batch int
	// Actor is who runs the seed (audit.CLI() from the command line).
	Actor audit.Actor
	// Progress, when set, receives one line per phase and per 100,000 rows. It never receives a
	// secret.
	Progress io.Writer
}

// Token is a named token made by the seed, with its secret (shown once; store it or lose it).
// An empty Secret (one the caller removed after storing it elsewhere, as `latchkey admin seed
// --secrets-file` does) is left out of the JSON rather than shown as "".
type Token struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Secret string `json:"value,omitempty"`
}

// Result is what a seed run wrote.
type Result struct {
	// AccountID is the new account holding the zones.
	AccountID string `json:"account_id"`
	// ZoneID and ZoneName are the first zone: the one the one-zone and ACME tokens reach and,
	// with ZonesWithRecords = 1, the only one with records.
	ZoneID   string `json:"zone_id"`
	ZoneName string `json:"zone_name"`
	// Zones, Records and Tokens count the rows written (Tokens: the bulk tokens only).
	Zones   int `json:"zones"`
	Records int `json:"records"`
	Tokens  int `json:"tokens"`
	// ACMERecordsPerZone is how many records of each zone with records are TXT records under
	// _acme-challenge (what the ACME token lists).
	ACMERecordsPerZone int `json:"acme_records_per_zone"`
	// TokenAccountIDs are the further accounts made to hold bulk tokens beyond the per-account
	// quota, all of one holder user made for them.
	TokenAccountIDs []string `json:"token_account_ids,omitempty"`
	// AllZones reads every zone of AccountID and edits their DNS; OneZone the same for ZoneID
	// only; ACME may only see and edit TXT records under _acme-challenge in ZoneID.
	AllZones Token `json:"all_zones_token"`
	OneZone  Token `json:"one_zone_token"`
	ACME     Token `json:"acme_token"`
	// Elapsed is how long the run took.
	Elapsed time.Duration `json:"-"`
}

// Run seeds db as o says. It returns an Invalid error for impossible options (no zones, an
// unknown user, a user without room for the 3 named tokens) and otherwise the first failure with
// the result so far: a failed run leaves the batches committed so far in its own new account
// (Result.AccountID, which can be deleted).
func Run(ctx context.Context, db *store.DB, o Options) (*Result, error) {
	start := time.Now()
	if o.Zones < 1 {
		return nil, errs.InvalidField("zones", "Seed at least one zone.")
	}
	if o.RecordsPerZone < 0 || o.Tokens < 0 || o.ZonesWithRecords < 0 {
		return nil, errs.E(errs.Invalid, "The numbers of records, zones with records and tokens cannot be negative.")
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.ZonesWithRecords == 0 || o.ZonesWithRecords > o.Zones {
		o.ZonesWithRecords = o.Zones
	}
	if _, err := store.UserByID(db.Gorm(ctx), o.UserID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.InvalidField("email", "No such user.")
		}
		return nil, err
	}
	// The three named tokens are the user's own: check their quota before writing anything, so a
	// run that cannot finish does not leave a half-filled account behind.
	quota, _, err := tokens.NewService(db, nil).OwnerQuota(ctx, tokens.UserOwner(o.UserID))
	if err != nil {
		return nil, err
	}
	have, err := store.CountAPITokens(db.Gorm(ctx), store.TokenOwner{Kind: store.TokenOwnerUser, UserID: o.UserID})
	if err != nil {
		return nil, err
	}
	if have+3 > int64(quota) {
		return nil, errs.E(errs.Invalid, "The user holds %d of at most %d API tokens; the seed makes 3 more. Delete some first.", have, quota)
	}
	run := runLabel()
	name := o.AccountName
	if name == "" {
		name = "Seed " + run
	}
	actor := o.Actor
	acc, err := accounts.NewService(db).CreateAccount(ctx, actor, o.UserID, name)
	if err != nil {
		return nil, fmt.Errorf("create the seed account: %w", err)
	}
	res := &Result{AccountID: acc.ID}
	s := &seeder{db: db, o: o, run: run, res: res}
	// The audit entry goes first, so the log names the action even if a later batch fails.
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Record(tx, actor, audit.Event{AccountID: acc.ID, OwnerUserID: o.UserID, Action: Action,
			ResourceType: "account", ResourceID: acc.ID, ResourceName: name,
			New: map[string]any{"zones": o.Zones, "records_per_zone": o.RecordsPerZone,
				"zones_with_records": o.ZonesWithRecords, "tokens": o.Tokens}})
	})
	if err != nil {
		return nil, err
	}
	zs, err := s.zones(ctx, acc.ID)
	if err != nil {
		return res, err
	}
	res.ZoneID, res.ZoneName = zs[0].ID, zs[0].Name
	for i := range o.ZonesWithRecords {
		if err := s.records(ctx, &zs[i]); err != nil {
			return res, err
		}
	}
	res.ACMERecordsPerZone = acmeCount(o.RecordsPerZone)
	if err := s.namedTokens(ctx, acc.ID, &zs[0]); err != nil {
		return res, err
	}
	if err := s.bulkTokens(ctx, acc.ID, name); err != nil {
		return res, err
	}
	if db.Dialect() == store.Postgres {
		s.logf("vacuum and analyze (PostgreSQL)")
	}
	if err := db.AfterBulkLoad(ctx, "zones", "dns_records", "dns_changes", "api_tokens", "accounts", "memberships"); err != nil {
		// The data is in; only the planner's statistics wait for autovacuum.
		s.logf("warning: vacuum and analyze failed (autovacuum will catch up): %v", err)
	}
	res.Elapsed = time.Since(start)
	s.logf("seed done in %s: %d zones, %d records, %d tokens", res.Elapsed.Round(time.Millisecond), res.Zones, res.Records, res.Tokens)
	return res, nil
}

type seeder struct {
	db  *store.DB
	o   Options
	run string
	res *Result
}

func (s *seeder) logf(format string, args ...any) {
	if s.o.Progress != nil {
		fmt.Fprintf(s.o.Progress, format+"\n", args...)
	}
}

// runLabel is a short random label that keeps this run's zone names apart from every other
// run's (and so from other accounts' zones).
func runLabel() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%08x", b)
}

// zoneWords give zone names a realistic look.
var zoneWords = []string{"shop", "blog", "mail", "app", "cloud", "media", "news", "dev", "store", "labs"}

// ZoneName returns the name of zone i of run: a valid, registrable-looking name unique to the run.
func ZoneName(run string, i int) string {
	return fmt.Sprintf("%s-%07d-%s.com", zoneWords[i%len(zoneWords)], i, run)
}

// zones writes o.Zones zones into accountID, as internal/zones creates them (active, full, free
// plan), each noted in the DNS change feed.
func (s *seeder) zones(ctx context.Context, accountID string) ([]store.Zone, error) {
	s.logf("seeding %d zones", s.o.Zones)
	all := make([]store.Zone, 0, s.o.Zones)
	for startAt := 0; startAt < s.o.Zones; startAt += s.o.Batch {
		n := min(s.o.Batch, s.o.Zones-startAt)
		now := time.Now().UTC()
		batch := make([]store.Zone, n)
		changes := make([]store.DNSChange, n)
		for j := range n {
			name, err := zones.NormalizeName(ZoneName(s.run, startAt+j))
			if err != nil {
				return nil, err
			}
			activated := now
			batch[j] = store.Zone{ID: store.NewID(), AccountID: accountID, Name: name, Status: zones.StatusActive,
				Type: "full", Plan: "free", CreatedAt: now, UpdatedAt: now, ActivatedOn: &activated}
			changes[j] = store.DNSChange{ZoneID: batch[j].ID}
		}
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.InsertRows(tx, batch, 10); err != nil {
				return err
			}
			return store.RecordDNSChanges(tx, changes)
		})
		if err != nil {
			return nil, fmt.Errorf("seed zones: %w", err)
		}
		all = append(all, batch...)
		s.res.Zones += n
		if s.res.Zones%100_000 < s.o.Batch && s.res.Zones >= 100_000 {
			s.logf("  %d zones", s.res.Zones)
		}
	}
	return all, nil
}

// hostWords give record names a realistic look.
var hostWords = []string{"www", "api", "cdn", "shop", "mail", "vpn", "git", "db", "auth", "img"}

// ACME challenge records: record i is an _acme-challenge TXT record when i < acmeSpan and
// i % acmeEvery == 1, so a zone of 100 records or more holds 20 of them, as many as an ACME client
// leaves behind at most, however large the zone.
const (
	acmeEvery = 5
	acmeSpan  = 100
)

// acmeCount returns how many of n records are _acme-challenge TXT records.
func acmeCount(n int) int {
	m := min(n, acmeSpan)
	if m < 2 {
		return 0
	}
	return (m-2)/acmeEvery + 1
}

// RecordParams returns record i of a seeded zone as a client would send it: a mix of A, AAAA,
// CNAME, TXT (SPF, DMARC and, for 20 of the first 100, an _acme-challenge token), MX and proxied
// A records, every name unique to i so that no two records collide or break the CNAME rule.
func RecordParams(i int) dns.Params {
	host := fmt.Sprintf("%s-%d", hostWords[i%len(hostWords)], i)
	p := func(typ, name, content string) dns.Params {
		return dns.Params{Type: &typ, Name: &name, Content: &content}
	}
	if i < acmeSpan && i%acmeEvery == 1 {
		var b [32]byte
		_, _ = rand.Read(b[:])
		return p(dns.TypeTXT, "_acme-challenge."+host, base64.RawURLEncoding.EncodeToString(b[:]))
	}
	switch i % 10 {
	case 0, 1, 2, 3:
		return p(dns.TypeA, host, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	case 4:
		return p(dns.TypeAAAA, host, fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff))
	case 5:
		return p(dns.TypeCNAME, host, fmt.Sprintf("lb-%d.cdn.example.net", i%97))
	case 6:
		return p(dns.TypeTXT, host, "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all")
	case 7:
		r := p(dns.TypeMX, "mail-"+fmt.Sprint(i), fmt.Sprintf("mx%d.mail.example.net", i%5))
		prio := 10
		r.Priority = &prio
		return r
	case 8:
		r := p(dns.TypeA, host, fmt.Sprintf("198.51.%d.%d", i>>8&255, i&255))
		proxied, ttl, comment := true, 1, "behind the edge"
		r.Proxied, r.TTL, r.Comment = &proxied, &ttl, &comment
		return r
	default:
		ttl := 3600
		r := p(dns.TypeTXT, "_dmarc."+host, "v=DMARC1; p=none; rua=mailto:dmarc@example.net")
		r.TTL = &ttl
		return r
	}
}

// records writes o.RecordsPerZone records into z, built by internal/dns exactly as Create builds
// them, each noted in the DNS change feed.
func (s *seeder) records(ctx context.Context, z *store.Zone) error {
	total := s.o.RecordsPerZone
	if total == 0 {
		return nil
	}
	if total >= 10_000 {
		s.logf("seeding %d records in %s", total, z.Name)
	}
	written := 0
	for startAt := 0; startAt < total; startAt += s.o.Batch {
		n := min(s.o.Batch, total-startAt)
		now := time.Now().UTC().Truncate(time.Microsecond)
		rows := make([]store.DNSRecord, n)
		var tags []store.DNSRecordTag
		changes := make([]store.DNSChange, n)
		for j := range n {
			row, ts, err := dns.NewRow(z, RecordParams(startAt+j), now)
			if err != nil {
				return fmt.Errorf("seed record %d of %s: %w", startAt+j, z.Name, err)
			}
			rows[j] = *row
			for _, t := range ts {
				t.RecordID = row.ID
				tags = append(tags, t)
			}
			changes[j] = store.DNSChange{ZoneID: z.ID, RecordID: row.ID}
		}
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.InsertRows(tx, rows, 15); err != nil {
				return err
			}
			if err := store.InsertRows(tx, tags, 3); err != nil {
				return err
			}
			return store.RecordDNSChanges(tx, changes)
		})
		if err != nil {
			return fmt.Errorf("seed records of %s: %w", z.Name, err)
		}
		written += n
		s.res.Records += n
		if written%100_000 < s.o.Batch && written >= 100_000 {
			s.logf("  %d records", written)
		}
	}
	return nil
}

// namedTokens makes the three tokens a load driver uses, through tokens.Service.Create (quota,
// the user's own access and the audit entries all apply).
func (s *seeder) namedTokens(ctx context.Context, accountID string, z *store.Zone) error {
	svc := tokens.NewService(s.db, nil)
	actor := s.o.Actor
	if actor.UserID == "" && actor.Type == audit.ActorSystem {
		actor.UserID = s.o.UserID
	}
	creator := tokens.Creator{Actor: actor, UserID: s.o.UserID}
	one := []tokens.ZoneRef{{AccountID: accountID, ZoneID: z.ID}}
	for _, t := range []struct {
		dst      *Token
		name     string
		template string
		zones    []tokens.ZoneRef
	}{
		{&s.res.AllZones, "seed " + s.run + " all zones", "edit-zone-dns", nil},
		{&s.res.OneZone, "seed " + s.run + " one zone", "edit-zone-dns", one},
		{&s.res.ACME, "seed " + s.run + " acme", "acme-dns-01", one},
	} {
		tpl, ok := tokens.TemplateByName(t.template)
		if !ok {
			return fmt.Errorf("seed: no token template %q", t.template)
		}
		ps, err := tpl.Policies(s.o.UserID, []string{accountID}, t.zones)
		if err != nil {
			return err
		}
		tok, secret, err := svc.Create(ctx, creator, tokens.UserOwner(s.o.UserID), tokens.Input{Name: t.name, Policies: ps})
		if err != nil {
			return fmt.Errorf("seed token %q: %w", t.name, err)
		}
		*t.dst = Token{ID: tok.ID, Name: t.name, Secret: secret}
	}
	return nil
}

// bulkTokens writes o.Tokens account-owned tokens, at most tokens.MaxAccountTokens per account
// (the seed account first, then further accounts of a holder user), each allowed to read the
// zones of its account. Their secrets are not kept.
func (s *seeder) bulkTokens(ctx context.Context, accountID, name string) error {
	if s.o.Tokens == 0 {
		return nil
	}
	s.logf("seeding %d tokens", s.o.Tokens)
	read := authz.ZoneRead.Group()
	acct, inAcct, nAcct := accountID, 0, 1
	holder := ""
	for s.res.Tokens < s.o.Tokens {
		if inAcct == tokens.MaxAccountTokens {
			if holder == "" {
				u, _, err := accounts.NewService(s.db).SignUp(ctx, accounts.SignUpInput{Email: "seed-" + s.run + "-tokens@example.com",
					PasswordHash: "!" + s.run, NoAccount: true}, s.o.Actor)
				if err != nil {
					return fmt.Errorf("seed the token holder: %w", err)
				}
				holder = u.ID
			}
			nAcct++
			a, err := accounts.NewService(s.db).CreateAccount(ctx, s.o.Actor, holder, fmt.Sprintf("%s tokens %d", name, nAcct))
			if err != nil {
				return fmt.Errorf("seed a token account: %w", err)
			}
			s.res.TokenAccountIDs = append(s.res.TokenAccountIDs, a.ID)
			acct, inAcct = a.ID, 0
		}
		n := min(s.o.Batch, s.o.Tokens-s.res.Tokens, tokens.MaxAccountTokens-inAcct)
		now := time.Now().UTC().Truncate(time.Second)
		rows := make([]store.APIToken, n)
		ps := []authz.PolicyJSON{{Effect: authz.Allow, PermissionGroups: []authz.GroupRef{{ID: read.ID}},
			Resources: map[string]any{"com.cloudflare.api.account." + acct: map[string]any{"com.cloudflare.api.account.zone.*": "*"}}}}
		for j := range n {
			row, _, err := tokens.NewRow(tokens.AccountOwner(acct), s.o.Actor.ID,
				tokens.Input{Name: fmt.Sprintf("seed token %d", s.res.Tokens+j+1), Policies: ps}, now)
			if err != nil {
				return fmt.Errorf("seed token %d: %w", s.res.Tokens+j+1, err)
			}
			rows[j] = *row
		}
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := store.InsertRows(tx, rows, 17); err != nil {
				return err
			}
			// Other processes may hold any of these secrets as "unknown" in their miss cache.
			return changefeed.RecordAll(tx)
		})
		if err != nil {
			return fmt.Errorf("seed tokens: %w", err)
		}
		s.res.Tokens += n
		inAcct += n
	}
	return nil
}

// UserIDByEmail finds the id of the user with email (normalised as sign-up does).
func UserIDByEmail(ctx context.Context, db *store.DB, email string) (string, error) {
	norm, err := accounts.NormalizeEmail(strings.TrimSpace(email))
	if err != nil {
		return "", err
	}
	u, err := store.UserByEmail(db.Gorm(ctx), norm)
	if errs.Is(err, errs.NotFound) {
		return "", errs.InvalidField("email", "No user has the email %s.", norm)
	}
	if err != nil {
		return "", err
	}
	return u.ID, nil
}
