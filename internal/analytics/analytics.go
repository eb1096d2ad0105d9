package analytics

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/store"
)

// Service answers analytics questions from recorded requests.
type Service struct {
	db  *store.DB
	now func() time.Time
}

// NewService returns a Service over db.
func NewService(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// MaxRange is the longest time range a query may cover.
const MaxRange = 366 * 24 * time.Hour

// DefaultRange is the range when a query gives no since: the last seven days.
const DefaultRange = 7 * 24 * time.Hour

// HourlyUpTo is the longest range answered in hourly buckets; longer ones get daily buckets.
const HourlyUpTo = 3 * 24 * time.Hour

// ParseRange reads a since/until pair as the zone analytics API takes them: RFC3339 times or
// relative minutes (e.g. -10080 for seven days ago, 0 for now). Empty since means
// DefaultRange before until; empty until means now. Times are whole seconds; "now" is the end of
// the current second, so that the range includes requests made in it.
func ParseRange(sinceS, untilS string, now time.Time) (since, until time.Time, err error) {
	now = now.UTC().Truncate(time.Second).Add(time.Second)
	until = now
	if untilS != "" {
		if until, err = parseTime("until", untilS, now); err != nil {
			return
		}
	}
	since = until.Add(-DefaultRange)
	if sinceS != "" {
		if since, err = parseTime("since", sinceS, now); err != nil {
			return
		}
	}
	switch {
	case !since.Before(until):
		err = errs.InvalidField("since", "since must be before until.")
	case until.Sub(since) > MaxRange:
		err = errs.InvalidField("since", "The time range may cover at most 366 days.")
	}
	return
}

func parseTime(field, s string, now time.Time) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 0 || n < -int64(MaxRange/time.Minute)-1 {
			return time.Time{}, errs.InvalidField(field, "%s in relative minutes must be from -%d to 0.", field, int64(MaxRange/time.Minute))
		}
		return now.Add(time.Duration(n) * time.Minute), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errs.InvalidField(field, "%s must be an RFC 3339 time (2024-01-02T15:04:05Z) or relative minutes (-10080).", field)
	}
	if t = t.UTC(); t.Year() < 2000 || t.After(input.MaxTime) {
		return time.Time{}, errs.InvalidField(field, "%s is out of range.", field)
	}
	return t.UTC().Truncate(time.Second), nil
}

// Data is the zone analytics dashboard in cloudflare-go's ZoneAnalyticsData shape.
type Data struct {
	Totals     Bucket   `json:"totals"`
	Timeseries []Bucket `json:"timeseries"`
	// ShedRequests, a Latchkey extension present with source=api, is how many API requests to
	// the zone's account (any of its zones or none) made in the range the answering server process
	// could not count (Recorder.AccountShedBetween; it knows its own requests since it started,
	// and never counts other accounts' here): 0 means every request of the account it served in
	// the range is in these figures.
	ShedRequests *int64 `json:"latchkey_shed_requests,omitempty"`
	// ShedUnattributed, present and true only then, says that in the range the process also shed
	// requests it could not attribute to an account (its bounded memory of shed counts was full):
	// some may be this account's, so ShedRequests may be low.
	ShedUnattributed bool `json:"latchkey_shed_unattributed,omitempty"`
}

// Bucket is one time range of zone analytics (cloudflare-go's ZoneAnalytics). Latchkey measures
// API requests: requests.all, requests.http_status, requests.uncached (an API response is never
// served from a cache), bandwidth.all and .uncached (response bytes) and uniques.all (distinct
// client addresses). Everything else is zero or empty because nothing measures it yet.
type Bucket struct {
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Requests  Requests  `json:"requests"`
	Bandwidth Bandwidth `json:"bandwidth"`
	Threats   Threats   `json:"threats"`
	Pageviews Pageviews `json:"pageviews"`
	Uniques   Uniques   `json:"uniques"`
}

// Requests counts requests.
type Requests struct {
	All         int64            `json:"all"`
	Cached      int64            `json:"cached"`
	Uncached    int64            `json:"uncached"`
	ContentType map[string]int64 `json:"content_type"`
	Country     map[string]int64 `json:"country"`
	SSL         SSL              `json:"ssl"`
	HTTPStatus  map[string]int64 `json:"http_status"`
}

// SSL splits a count by transport encryption; not measured yet.
type SSL struct {
	Encrypted   int64 `json:"encrypted"`
	Unencrypted int64 `json:"unencrypted"`
}

// Bandwidth counts response bytes.
type Bandwidth struct {
	All         int64            `json:"all"`
	Cached      int64            `json:"cached"`
	Uncached    int64            `json:"uncached"`
	ContentType map[string]int64 `json:"content_type"`
	Country     map[string]int64 `json:"country"`
	SSL         SSL              `json:"ssl"`
}

// Threats counts blocked threats; nothing measures them yet.
type Threats struct {
	All     int64            `json:"all"`
	Country map[string]int64 `json:"country"`
	Type    map[string]int64 `json:"type"`
}

// Pageviews counts page views; API requests are not page views.
type Pageviews struct {
	All           int64            `json:"all"`
	SearchEngines map[string]int64 `json:"search_engines"`
}

// Uniques counts distinct client addresses.
type Uniques struct {
	All int64 `json:"all"`
}

func newBucket(since, until time.Time) Bucket {
	return Bucket{Since: since, Until: until,
		Requests:  Requests{ContentType: map[string]int64{}, Country: map[string]int64{}, HTTPStatus: map[string]int64{}},
		Bandwidth: Bandwidth{ContentType: map[string]int64{}, Country: map[string]int64{}},
		Threats:   Threats{Country: map[string]int64{}, Type: map[string]int64{}},
		Pageviews: Pageviews{SearchEngines: map[string]int64{}}}
}

func (b *Bucket) add(t store.TrafficBucket) {
	b.Requests.All += t.Requests
	b.Requests.Uncached += t.Requests
	b.Requests.HTTPStatus[strconv.Itoa(t.Status)] += t.Requests
	b.Bandwidth.All += t.Bytes
	b.Bandwidth.Uncached += t.Bytes
}

// BucketSize returns the time series step for a range: an hour up to HourlyUpTo, else a day.
func BucketSize(since, until time.Time) time.Duration {
	if until.Sub(since) <= HourlyUpTo {
		return time.Hour
	}
	return 24 * time.Hour
}

// ZoneDashboard returns the zone's traffic in [since, until): totals and a time series of
// hourly or daily buckets (see BucketSize) aligned to UTC hours or days. The first and last
// buckets are clipped to the range, and buckets without traffic are present with zeros.
func (s *Service) ZoneDashboard(ctx context.Context, zoneID string, since, until time.Time) (*Data, error) {
	since, until = since.UTC(), until.UTC()
	step := BucketSize(since, until)
	secs := int64(step / time.Second)
	tx := s.db.Gorm(ctx)
	traffic, err := store.ZoneTraffic(tx, zoneID, since.Unix(), until.Unix(), secs)
	if err != nil {
		return nil, err
	}
	uniques, total, err := store.ZoneUniques(tx, zoneID, since.Unix(), until.Unix(), secs)
	if err != nil {
		return nil, err
	}
	d := &Data{Totals: newBucket(since, until), Timeseries: []Bucket{}}
	index := map[int64]int{}
	for start := since.Truncate(step); start.Before(until); start = start.Add(step) {
		index[start.Unix()] = len(d.Timeseries)
		d.Timeseries = append(d.Timeseries, newBucket(maxTime(start, since), minTime(start.Add(step), until)))
	}
	for _, t := range traffic {
		d.Totals.add(t)
		if i, ok := index[t.Bucket]; ok {
			d.Timeseries[i].add(t)
		}
	}
	for _, u := range uniques {
		if i, ok := index[u.Bucket]; ok {
			d.Timeseries[i].Uniques.All = u.Uniques
		}
	}
	d.Totals.Uniques.All = total
	return d, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Usage is what a token did with its permissions in a time range.
type Usage struct {
	TokenID string    `json:"token_id"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	// Requests is the number of requests in the range; Allowed + Denied.
	Requests int64 `json:"requests"`
	Allowed  int64 `json:"allowed"`
	Denied   int64 `json:"denied"`
	// LastUsedOn is the time of the token's latest request in the range, if any.
	LastUsedOn *time.Time `json:"last_used_on"`
	// ByPermissionGroup counts requests by the group the route needed, most used first.
	ByPermissionGroup []GroupUsage `json:"by_permission_group"`
	// Unused lists groups the token grants that no allowed request needed in the range, neither
	// themselves nor the Read group they imply: candidates to remove.
	Unused []GroupRef `json:"unused_permission_groups"`
	// ReadWouldDo lists granted Write groups whose allowed requests all needed only the Read group
	// they imply: the token could hold the Read group instead.
	ReadWouldDo []GroupRef `json:"read_would_do"`
	// ByKVNamespace counts requests by the Workers KV namespace they acted on (Latchkey's
	// extension), namespace id order; routes on no namespace are not in it.
	ByKVNamespace []NamespaceUsage `json:"by_kv_namespace"`
}

// NamespaceUsage counts the requests that acted on one Workers KV namespace.
type NamespaceUsage struct {
	NamespaceID string     `json:"namespace_id"`
	Allowed     int64      `json:"allowed"`
	Denied      int64      `json:"denied"`
	LastUsedOn  *time.Time `json:"last_used_on"`
}

// GroupUsage counts the requests that needed one permission group. A group of "" (id and name)
// counts routes that need no group, such as token verification.
type GroupUsage struct {
	PermissionGroup GroupRef   `json:"permission_group"`
	Allowed         int64      `json:"allowed"`
	Denied          int64      `json:"denied"`
	LastUsedOn      *time.Time `json:"last_used_on"`
}

// GroupRef names a permission group.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func refOf(id string) GroupRef {
	if g, ok := authz.GroupByID(id); ok {
		return GroupRef{ID: g.ID, Name: g.Name}
	}
	return GroupRef{ID: id}
}

// TokenUsage summarises the requests of tokenID in [since, until). granted is what the token's
// allow policies grant (the groups as written, e.g. from Credential.Policies); it feeds the
// least-privilege hints. The caller has checked that the asker may see the token.
func (s *Service) TokenUsage(ctx context.Context, tokenID string, granted []authz.Perm, since, until time.Time) (*Usage, error) {
	rows, err := store.TokenUse(s.db.Gorm(ctx), tokenID, since.Unix(), until.Unix())
	if err != nil {
		return nil, err
	}
	u := &Usage{TokenID: tokenID, Since: since.UTC(), Until: until.UTC(), ByPermissionGroup: []GroupUsage{},
		Unused: []GroupRef{}, ReadWouldDo: []GroupRef{}, ByKVNamespace: []NamespaceUsage{}}
	nss, err := store.TokenNamespaceUse(s.db.Gorm(ctx), tokenID, since.Unix(), until.Unix())
	if err != nil {
		return nil, err
	}
	for _, r := range nss {
		if n := len(u.ByKVNamespace); n == 0 || u.ByKVNamespace[n-1].NamespaceID != r.NamespaceID {
			u.ByKVNamespace = append(u.ByKVNamespace, NamespaceUsage{NamespaceID: r.NamespaceID})
		}
		nu := &u.ByKVNamespace[len(u.ByKVNamespace)-1]
		if r.Allowed {
			nu.Allowed += r.Requests
		} else {
			nu.Denied += r.Requests
		}
		if nu.LastUsedOn == nil || r.Last > nu.LastUsedOn.Unix() {
			t := time.Unix(r.Last, 0).UTC()
			nu.LastUsedOn = &t
		}
	}
	byGroup := map[string]*GroupUsage{}
	used := map[authz.Perm]bool{}
	var last int64
	for _, r := range rows {
		g := byGroup[r.PermissionGroup]
		if g == nil {
			g = &GroupUsage{PermissionGroup: refOf(r.PermissionGroup)}
			byGroup[r.PermissionGroup] = g
		}
		if r.Allowed {
			g.Allowed += r.Requests
			u.Allowed += r.Requests
			if p, ok := authz.GroupByID(r.PermissionGroup); ok {
				used[p.Perm] = true
			}
		} else {
			g.Denied += r.Requests
			u.Denied += r.Requests
		}
		if g.LastUsedOn == nil || r.Last > g.LastUsedOn.Unix() {
			t := time.Unix(r.Last, 0).UTC()
			g.LastUsedOn = &t
		}
		last = max(last, r.Last)
	}
	u.Requests = u.Allowed + u.Denied
	if last > 0 {
		t := time.Unix(last, 0).UTC()
		u.LastUsedOn = &t
	}
	for _, g := range byGroup {
		u.ByPermissionGroup = append(u.ByPermissionGroup, *g)
	}
	slices.SortFunc(u.ByPermissionGroup, func(a, b GroupUsage) int {
		if d := (b.Allowed + b.Denied) - (a.Allowed + a.Denied); d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(a.PermissionGroup.Name, b.PermissionGroup.Name)
	})
	granted = canonical(granted)
	for _, p := range granted {
		g := p.Group()
		usedImplied := slices.ContainsFunc(g.Implies, func(q authz.Perm) bool { return used[q] })
		// When the implied Read group is granted on its own as well, the Write group adds nothing.
		readGranted := len(g.Implies) > 0 && !slices.ContainsFunc(g.Implies, func(q authz.Perm) bool { return !slices.Contains(granted, q) })
		switch {
		case !used[p] && (!usedImplied || readGranted):
			u.Unused = append(u.Unused, GroupRef{ID: g.ID, Name: g.Name})
		case g.Write && !used[p] && usedImplied:
			u.ReadWouldDo = append(u.ReadWouldDo, GroupRef{ID: g.ID, Name: g.Name})
		}
	}
	return u, nil
}

// GrantedPerms returns the groups the allow policies of ps name, without duplicates.
func GrantedPerms(ps []authz.Policy) []authz.Perm {
	var out []authz.Perm
	for _, p := range ps {
		if p.Effect == authz.Allow {
			out = append(out, p.Perms...)
		}
	}
	return canonical(out)
}

func canonical(ps []authz.Perm) []authz.Perm {
	ps = slices.Clone(ps)
	slices.Sort(ps)
	return slices.Compact(ps)
}
