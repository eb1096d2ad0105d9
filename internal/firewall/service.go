package firewall

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Scope names where rules live: a zone of an account (ZoneID set) or the account itself.
type Scope struct {
	AccountID string
	ZoneID    string
}

// Zone returns the scope of a zone's rules.
func Zone(accountID, zoneID string) Scope { return Scope{AccountID: accountID, ZoneID: zoneID} }

// Account returns the scope of an account's rules.
func Account(accountID string) Scope { return Scope{AccountID: accountID} }

// Input is a new rule.
type Input struct {
	Mode          string
	Configuration Configuration
	Notes         string
}

// Patch changes a rule. Nil fields stay. The configuration of a rule cannot change: a non-nil
// Configuration must equal the rule's (clients that send the whole rule back pass), anything else
// is refused.
type Patch struct {
	Mode          *string
	Notes         *string
	Configuration *Configuration
}

// ListParams filters and pages List. Empty strings and zero numbers take the defaults.
type ListParams struct {
	Mode string
	// Notes keeps rules whose notes contain it, ignoring case.
	Notes string
	// Target and Value match the configuration exactly (Value is normalised when it parses).
	Target, Value string
	// Match is "all" (the default) or "any": whether every condition above must hold or one.
	Match string
	// Order is "configuration.target", "configuration.value" or "mode" ("" orders by creation);
	// Direction is "asc" (the default) or "desc".
	Order, Direction string
	// Page counts from 1 (default 1); PerPage is 1..MaxPerPage (default DefaultPerPage).
	Page, PerPage int
}

// Paging limits of List, as upstream.
const (
	DefaultPerPage = 20
	MaxPerPage     = 1000
)

// Page describes one page of a list, in the shape of the API's result_info.
type Page struct {
	Page       int   `json:"page"`
	PerPage    int   `json:"per_page"`
	Count      int   `json:"count"`
	TotalCount int64 `json:"total_count"`
	TotalPages int64 `json:"total_pages"`
}

// Service manages IP access rules. Callers have authorized the actor for the scope.
type Service struct {
	db       *store.DB
	now      func() time.Time
	onChange func(accountID string)
}

// OnChange sets a function called after every committed change to accountID's rules (zone or
// account scope), so that this process's edge applies it before the next request. Other processes
// learn of it through the change feed, which every change also writes. Call it before the
// service is used.
func (s *Service) OnChange(fn func(accountID string)) { s.onChange = fn }

func (s *Service) changed(accountID string) {
	if s.onChange != nil {
		s.onChange(accountID)
	}
}

// NewService returns a Service over db.
func NewService(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// scopeView resolves the wire scope of s, checking that its zone belongs to its account.
func scopeView(tx *gorm.DB, s Scope) (RuleScope, error) {
	if s.ZoneID != "" {
		if !store.ValidID(s.ZoneID) {
			return RuleScope{}, errs.E(errs.NotFound, "zone not found")
		}
		z, err := store.ZoneByID(tx, s.AccountID, s.ZoneID)
		if err != nil {
			return RuleScope{}, err
		}
		return RuleScope{ID: z.ID, Name: z.Name, Type: ScopeZone}, nil
	}
	a, err := store.AccountByID(tx, s.AccountID)
	if err != nil {
		return RuleScope{}, err
	}
	return RuleScope{ID: a.ID, Name: a.Name, Type: ScopeAccount}, nil
}

func toRule(r *store.FirewallAccessRule, sc RuleScope) *Rule {
	return &Rule{
		ID: r.ID, Notes: r.Notes, Mode: r.Mode, AllowedModes: AllowedModes(),
		Configuration: Configuration{Target: r.Target, Value: r.Value},
		Scope:         sc, CreatedOn: r.CreatedAt.UTC(), ModifiedOn: r.UpdatedAt.UTC(),
	}
}

// event is the audit event for a change to a rule in s.
func event(action string, s Scope, sc RuleScope, id string, old, new *Rule) audit.Event {
	e := audit.Event{AccountID: s.AccountID, Action: action, ResourceType: "firewall_access_rule", ResourceID: id}
	if sc.Type == ScopeZone {
		e.ZoneID, e.ZoneName = sc.ID, sc.Name
	}
	if old != nil {
		e.Old = old
	}
	if new != nil {
		e.New = new
	}
	return e
}

// Create adds a rule to s. A rule with the same configuration in s is a Conflict (API code 10009).
func (s *Service) Create(ctx context.Context, actor audit.Actor, sc Scope, in Input) (*Rule, error) {
	if err := ValidMode(in.Mode); err != nil {
		return nil, err
	}
	conf, err := NormalizeConfiguration(in.Configuration)
	if err != nil {
		return nil, err
	}
	if err := ValidNotes(in.Notes); err != nil {
		return nil, err
	}
	now := s.now()
	row := &store.FirewallAccessRule{ID: store.NewID(), AccountID: sc.AccountID, ScopeKey: store.FirewallScopeKey(sc.ZoneID),
		Mode: in.Mode, Target: conf.Target, Value: conf.Value, Notes: in.Notes, CreatedAt: now, UpdatedAt: now}
	if sc.ZoneID != "" {
		row.ZoneID = &sc.ZoneID
	}
	var rule *Rule
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		view, err := scopeView(tx, sc)
		if err != nil {
			return err
		}
		if err := store.CreateFirewallAccessRule(tx, row); err != nil {
			return err
		}
		rule = toRule(row, view)
		if err := changefeed.Record(tx, store.EdgeChangeFirewall, sc.AccountID); err != nil {
			return err
		}
		return audit.Record(tx, actor, event("firewall_rule.create", sc, view, row.ID, nil, rule))
	})
	if err != nil {
		return nil, err
	}
	s.changed(sc.AccountID)
	return rule, nil
}

// Get returns a rule of s; a rule of another scope or account is NotFound.
func (s *Service) Get(ctx context.Context, sc Scope, id string) (*Rule, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "access rule not found")
	}
	tx := s.db.Gorm(ctx)
	view, err := scopeView(tx, sc)
	if err != nil {
		return nil, err
	}
	row, err := store.FirewallAccessRuleByID(tx, sc.AccountID, sc.ZoneID, id)
	if err != nil {
		return nil, err
	}
	return toRule(row, view), nil
}

// List returns one page of the rules of s that match p.
func (s *Service) List(ctx context.Context, sc Scope, p ListParams) ([]Rule, Page, error) {
	f := store.FirewallRuleFilter{AccountID: sc.AccountID, ZoneID: sc.ZoneID, Notes: p.Notes}
	if p.Mode != "" {
		if err := ValidMode(p.Mode); err != nil {
			return nil, Page{}, err
		}
		f.Mode = p.Mode
	}
	if p.Target != "" {
		if !oneOf(p.Target, Targets()...) {
			return nil, Page{}, errs.InvalidField("configuration.target", "%q is not a target; choose one of %s.", p.Target, strings.Join(Targets(), ", "))
		}
		f.Target = p.Target
	}
	if p.Value != "" {
		f.Value = normalizeValue(p.Target, p.Value)
	}
	switch p.Match {
	case "", "all":
	case "any":
		f.MatchAny = true
	default:
		return nil, Page{}, errs.InvalidField("match", "match is all or any.")
	}
	if !oneOf(p.Order, "", "configuration.target", "configuration.value", "mode") {
		return nil, Page{}, errs.InvalidField("order", "order is configuration.target, configuration.value or mode.")
	}
	f.Order = p.Order
	switch p.Direction {
	case "", "asc":
	case "desc":
		f.Descending = true
	default:
		return nil, Page{}, errs.InvalidField("direction", "direction is asc or desc.")
	}
	pg, err := paging(p.Page, p.PerPage)
	if err != nil {
		return nil, Page{}, err
	}
	f.Offset, f.Limit = (pg.Page-1)*pg.PerPage, pg.PerPage
	tx := s.db.Gorm(ctx)
	view, err := scopeView(tx, sc)
	if err != nil {
		return nil, Page{}, err
	}
	rows, total, err := store.ListFirewallAccessRules(tx, f)
	if err != nil {
		return nil, Page{}, err
	}
	rules := make([]Rule, len(rows))
	for i := range rows {
		rules[i] = *toRule(&rows[i], view)
	}
	pg.Count, pg.TotalCount = len(rules), total
	pg.TotalPages = (total + int64(pg.PerPage) - 1) / int64(pg.PerPage)
	return rules, pg, nil
}

// paging checks and defaults a page number and size; the size is clamped into 1..MaxPerPage.
func paging(page, perPage int) (Page, error) {
	if page == 0 {
		page = 1
	}
	if perPage == 0 {
		perPage = DefaultPerPage
	}
	if page < 1 {
		return Page{}, errs.InvalidField("page", "page counts from 1.")
	}
	// A size outside 1..MaxPerPage is clamped, never refused (Cloudflare's behaviour); the
	// page's per_page says what was used.
	return Page{Page: page, PerPage: min(max(perPage, 1), MaxPerPage)}, nil
}

// normalizeValue puts a filter value in the stored form where it parses (for the given target, or
// for any target when none is given), so that "2001:DB8::1" finds "2001:db8::1".
func normalizeValue(target, v string) string {
	targets := []string{target}
	if target == "" {
		targets = Targets()
	}
	for _, t := range targets {
		if c, err := NormalizeConfiguration(Configuration{Target: t, Value: v}); err == nil {
			return c.Value
		}
	}
	return strings.TrimSpace(v)
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// Update applies p to a rule of s.
func (s *Service) Update(ctx context.Context, actor audit.Actor, sc Scope, id string, p Patch) (*Rule, error) {
	if !store.ValidID(id) {
		return nil, errs.E(errs.NotFound, "access rule not found")
	}
	if p.Mode != nil {
		if err := ValidMode(*p.Mode); err != nil {
			return nil, err
		}
	}
	if p.Notes != nil {
		if err := ValidNotes(*p.Notes); err != nil {
			return nil, err
		}
	}
	var rule *Rule
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		view, err := scopeView(tx, sc)
		if err != nil {
			return err
		}
		row, err := store.FirewallAccessRuleByID(tx, sc.AccountID, sc.ZoneID, id)
		if err != nil {
			return err
		}
		if c := p.Configuration; c != nil && (c.Target != "" || c.Value != "") {
			norm, err := NormalizeConfiguration(*c)
			if err != nil || norm.Target != row.Target || norm.Value != row.Value {
				return errs.InvalidField("configuration", "The configuration of a rule cannot change; delete the rule and create a new one.")
			}
		}
		old := toRule(row, view)
		if p.Mode != nil {
			row.Mode = *p.Mode
		}
		if p.Notes != nil {
			row.Notes = *p.Notes
		}
		row.UpdatedAt = s.now()
		if err := store.UpdateFirewallAccessRule(tx, row); err != nil {
			return err
		}
		rule = toRule(row, view)
		if err := changefeed.Record(tx, store.EdgeChangeFirewall, sc.AccountID); err != nil {
			return err
		}
		return audit.Record(tx, actor, event("firewall_rule.update", sc, view, row.ID, old, rule))
	})
	if err != nil {
		return nil, err
	}
	s.changed(sc.AccountID)
	return rule, nil
}

// Delete removes a rule of s.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, sc Scope, id string) error {
	if !store.ValidID(id) {
		return errs.E(errs.NotFound, "access rule not found")
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		view, err := scopeView(tx, sc)
		if err != nil {
			return err
		}
		row, err := store.FirewallAccessRuleByID(tx, sc.AccountID, sc.ZoneID, id)
		if err != nil {
			return err
		}
		if err := store.DeleteFirewallAccessRule(tx, sc.AccountID, sc.ZoneID, id); err != nil {
			return err
		}
		if err := changefeed.Record(tx, store.EdgeChangeFirewall, sc.AccountID); err != nil {
			return err
		}
		return audit.Record(tx, actor, event("firewall_rule.delete", sc, view, row.ID, toRule(row, view), nil))
	})
	if err != nil {
		return err
	}
	s.changed(sc.AccountID)
	return nil
}

// Effective returns the rules that apply to a zone of an account: its own and the account's,
// ready for Match.
func (s *Service) Effective(ctx context.Context, accountID, zoneID string) ([]Rule, error) {
	tx := s.db.Gorm(ctx)
	zv, err := scopeView(tx, Zone(accountID, zoneID))
	if err != nil {
		return nil, err
	}
	av, err := scopeView(tx, Account(accountID))
	if err != nil {
		return nil, err
	}
	rows, err := store.EffectiveFirewallAccessRules(tx, accountID, zoneID)
	if err != nil {
		return nil, err
	}
	rules := make([]Rule, len(rows))
	for i := range rows {
		v := av
		if rows[i].ZoneID != nil {
			v = zv
		}
		rules[i] = *toRule(&rows[i], v)
	}
	return rules, nil
}
