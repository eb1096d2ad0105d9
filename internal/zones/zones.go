// Package zones manages the domains (zones) of an account.
package zones

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// NormalizeName lower-cases a domain name, drops one trailing dot and checks that it is a valid
// registrable-looking name: at least two labels, each 1–63 letters, digits or hyphens (not at
// either end), a top-level label that is not all digits, and 253 characters at most. The error
// names the "name" field.
func NormalizeName(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errs.InvalidField("name", "Enter a domain name, like example.com.")
	}
	if len(s) > 253 {
		return "", errs.InvalidField("name", "A domain name has at most 253 characters.")
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "", errs.InvalidField("name", "Enter a full domain name with a dot, like example.com.")
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", errs.InvalidField("name", "%q is not a valid domain name: each part between dots has 1 to 63 letters, digits or hyphens, and does not start or end with a hyphen.", s)
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "", errs.InvalidField("name", "%q is not a valid domain name: the last part cannot be a number.", s)
	}
	return s, nil
}

func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Service manages zones.
type Service struct {
	db     *store.DB
	limits *billing.Limits
	// PendingUntilDelegated makes new zones "pending" until an activation check finds them
	// delegated to our name servers (LATCHKEY_ZONE_ACTIVATION=delegation), as Cloudflare's are;
	// false (the self-hosted default) makes them active from creation.
	PendingUntilDelegated bool

	cache cachedZones // set by Follow
	// pages caches encoded list pages for ListJSON; nil when off.
	pages *pageCache
}

// UseLimits makes Create refuse a zone over the account plan's limit (internal/billing).
func (s *Service) UseLimits(l *billing.Limits) { s.limits = l }

// NewService returns a Service over db, with a cache of encoded list pages of
// DefaultPageCacheBytes (see ListJSON and SetPageCacheBytes).
func NewService(db *store.DB) *Service {
	s := &Service{db: db}
	s.SetPageCacheBytes(DefaultPageCacheBytes)
	return s
}

// Create adds a zone named name to accountID. The caller has authorized the actor.
func (s *Service) Create(ctx context.Context, actor audit.Actor, accountID, name string) (*store.Zone, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	z := &store.Zone{ID: store.NewID(), AccountID: accountID, Name: name, Status: StatusActive, Type: "full",
		Plan: "free", CreatedAt: now, UpdatedAt: now, ActivatedOn: &now}
	if s.PendingUntilDelegated {
		z.Status, z.ActivatedOn = StatusPending, nil
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		if err := s.limits.CheckAdd(tx, accountID, billing.LimitZones, 1); err != nil {
			return err
		}
		if s.limits.Enabled() {
			// The zone takes the account's plan (it sets how long its edge analytics are kept).
			p, err := s.limits.Plan(tx, accountID)
			if err != nil {
				return err
			}
			z.Plan = billing.ZonePlan(p.ID)
		}
		other, err := store.OverlappingZoneInOtherAccount(tx, accountID, name)
		if err != nil {
			return err
		}
		if other != "" {
			// The DNS server and the edge answer a name from the closest zone holding it, so an
			// overlapping zone of another account would take over that account's names.
			what := "the same domain"
			if other != name {
				what = other + ", which overlaps it"
			}
			return errs.InvalidField("name", "%s cannot be added: another account on this server holds %s. A domain belongs to one account; ask its owner to invite you instead.", name, what).WithCode(errs.Conflict)
		}
		if err := store.CreateZone(tx, z); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "zone.create", ResourceType: "zone",
			ResourceID: z.ID, ZoneID: z.ID, ZoneName: z.Name, New: summary(z)})
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

// Get returns a zone of accountID.
func (s *Service) Get(ctx context.Context, accountID, id string) (*store.Zone, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "zone not found")
	}
	return store.ZoneByID(s.db.Gorm(ctx), accountID, id)
}

// List returns zones matching f and the total count.
func (s *Service) List(ctx context.Context, f store.ZoneFilter) ([]store.Zone, int64, error) {
	return store.ListZones(s.db.Gorm(ctx), f)
}

// SetPaused pauses or unpauses a zone of accountID.
func (s *Service) SetPaused(ctx context.Context, actor audit.Actor, accountID, id string, paused bool) (*store.Zone, error) {
	var z *store.Zone
	defer s.evict(id) // after the commit
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if z, err = store.ZoneByID(tx, accountID, id); err != nil {
			return err
		}
		old := *z
		z.Paused = paused
		z.UpdatedAt = time.Now().UTC()
		if err := store.UpdateZone(tx, z); err != nil {
			return err
		}
		if err := noteChange(tx, z.ID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "zone.update", ResourceType: "zone",
			ResourceID: z.ID, ZoneID: z.ID, ZoneName: z.Name, Old: summary(&old), New: summary(z)})
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

// Delete removes a zone of accountID, holding the account's row lock (store.LockAccount) before
// the zone's, the order every account-wide zone writer uses. An unknown account or zone is
// NotFound.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, accountID, id string) error {
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "zone not found")
	}
	defer s.evict(id) // after the commit
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		// The account row first, as Create and billing plan changes take it: the zone counter's
		// delete trigger updates the account row after the zone row is gone, and a writer that
		// holds the account while it waits for this zone (re-adding its name, or a plan change
		// updating its zones) would otherwise close a lock cycle (PostgreSQL deadlock).
		if err := store.LockAccount(tx, accountID); err != nil {
			return err
		}
		z, err := store.ZoneByID(tx, accountID, id)
		if err != nil {
			return err
		}
		if err := store.DeleteZone(tx, accountID, id); err != nil {
			return err
		}
		if err := noteChange(tx, id); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "zone.delete", ResourceType: "zone",
			ResourceID: z.ID, ZoneID: z.ID, ZoneName: z.Name, Old: summary(z)})
	})
}

// Zone statuses (Cloudflare's zone object status) that Latchkey sets.
const (
	// StatusActive zones are in service; their activated_on says since when.
	StatusActive = "active"
	// StatusPending zones wait for their delegation to our name servers (only with
	// PendingUntilDelegated). The DNS server answers for them already, as the name servers a
	// registrar is about to point at must.
	StatusPending = "pending"
)

// CheckActivation checks where the public DNS delegates the zone id of accountID (lookup, at most
// DelegationTimeout) against nameServers and, when the zone is pending and delegated to exactly
// those, makes it active now (an audit entry, and the DNS change feed notes it). It returns the
// zone as it is afterwards and the check's result. Like Cloudflare's
// PUT /zones/{zone_id}/activation_check, but answered at once. Errors: NotFound for a zone
// not in the account, or the store's error.
func (s *Service) CheckActivation(ctx context.Context, actor audit.Actor, accountID, id string, lookup LookupNS, nameServers []string) (*store.Zone, Delegation, error) {
	z, err := s.Get(ctx, accountID, id)
	if err != nil {
		return nil, Delegation{}, err
	}
	d := CheckDelegation(ctx, lookup, z.Name, nameServers)
	if d.Status != DelegationActive || z.Status != StatusPending {
		return z, d, nil
	}
	defer s.evict(id) // after the commit
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if z, err = store.ZoneByID(tx, accountID, id); err != nil {
			return err
		}
		if z.Status != StatusPending {
			return nil // activated meanwhile
		}
		old := *z
		now := time.Now().UTC()
		z.Status, z.ActivatedOn, z.UpdatedAt = StatusActive, &now, now
		if err := store.UpdateZone(tx, z); err != nil {
			return err
		}
		if err := noteChange(tx, z.ID); err != nil {
			return err
		}
		return audit.Record(tx, actor, audit.Event{AccountID: accountID, Action: "zone.update", ResourceType: "zone",
			ResourceID: z.ID, ZoneID: z.ID, ZoneName: z.Name, Old: summary(&old), New: summary(z)})
	})
	if err != nil {
		return nil, Delegation{}, err
	}
	return z, d, nil
}

// zoneAudit is how a zone appears in the audit log's old and new values.
type zoneAudit struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Paused bool   `json:"paused"`
	Type   string `json:"type"`
	Plan   string `json:"plan"`
}

func summary(z *store.Zone) zoneAudit {
	return zoneAudit{ID: z.ID, Name: z.Name, Status: z.Status, Paused: z.Paused, Type: z.Type, Plan: z.Plan}
}
