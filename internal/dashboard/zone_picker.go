package dashboard

import (
	stdcmp "cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// The zone picker. Accounts may hold 100,000 zones, so no page offers them all: forms show the
// chosen zones only (looked up by id) and a search box that asks handleZoneSearch for one page
// of the zones the user may see whose names start with what was typed. Without JavaScript the
// search box takes zone names, which zoneFinder.byNames resolves when the form is sent.

const (
	// zoneSearchPage is how many matches a search shows.
	zoneSearchPage = 20
	// maxTypedZoneNames bounds the names one picker's text field may carry.
	maxTypedZoneNames = 100
	// zoneLookupChunk bounds the ids or names one lookup query binds.
	zoneLookupChunk = 500
	// maxZoneQuery is the longest search (a zone name has at most 253 characters).
	maxZoneQuery = 253
	// anyZonePerm stands for "some zone permission group": a zone the user may see.
	anyZonePerm = authz.NumPerms
)

// zoneFinder finds zones among those a user may see in some of their accounts: by id, by exact
// name, or by a name prefix, a page at a time. Every query is bounded by its page or by the ids
// and names it is given, and filtered and paged in the database; rows are checked once more
// against the user's access before anyone sees them.
type zoneFinder struct {
	tx       *gorm.DB
	access   *tokens.Access
	accounts []string // sorted ids of the accounts searched
	names    map[string]string
}

// newZoneFinder searches accounts (all those given that the user belongs to).
func newZoneFinder(tx *gorm.DB, access *tokens.Access, accounts []store.Account) *zoneFinder {
	f := &zoneFinder{tx: tx, access: access, names: map[string]string{}}
	for _, a := range accounts {
		if access.Member(a.ID) {
			f.accounts = append(f.accounts, a.ID)
			f.names[a.ID] = a.Name
		}
	}
	slices.Sort(f.accounts)
	return f
}

// seenGrant is the zones the user may see (hold some zone permission group on) as one
// store.ZoneGrant: the union of the groups' authz.ZoneSets. A union of sets that deny different
// zones is wider than any of them, so the grant may pass a zone no group allows; the rows are
// checked with tokens.Access.SeesZone afterwards (memberships, whose policies only allow, give
// exact grants). perm, when valid, narrows the grant to that group's zones, which are exact.
func (f *zoneFinder) seenGrant(perm authz.Perm) store.ZoneGrant {
	if perm.Valid() {
		return store.ZoneGrant(f.access.Compiled.ZoneSet(perm))
	}
	var u authz.ZoneSet
	first := true
	for _, g := range authz.Groups() {
		if g.Scope != authz.ScopeZone {
			continue
		}
		s := f.access.Compiled.ZoneSet(g.Perm)
		if s.Empty() {
			continue
		}
		if first {
			u, first = s, false
			u.Accounts, u.Zones = slices.Clone(s.Accounts), slices.Clone(s.Zones)
			continue
		}
		u.AllAccounts = u.AllAccounts || s.AllAccounts
		u.Accounts = union(u.Accounts, s.Accounts)
		u.Zones = union(u.Zones, s.Zones)
		u.DenyAccounts = intersect(u.DenyAccounts, s.DenyAccounts)
		u.ExcludeZones = intersect(u.ExcludeZones, s.ExcludeZones)
	}
	if first {
		return store.ZoneGrant{DenyAll: true}
	}
	if u.AllAccounts {
		u.Accounts, u.Zones = nil, nil
	}
	return store.ZoneGrant(u)
}

// union returns the sorted union of two sorted lists.
func union(a, b []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(slices.Concat(a, b))))
}

// intersect returns the elements of sorted a that sorted b holds too.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			out = append(out, x)
		}
	}
	return out
}

// sees reports whether the user may see z (and, with a valid perm, holds it there).
func (f *zoneFinder) sees(z *store.Zone, perm authz.Perm) bool {
	if !slices.Contains(f.accounts, z.AccountID) {
		return false
	}
	if perm.Valid() {
		return f.access.Compiled.Decide(perm, authz.Zone(z.AccountID, z.ID)).Allowed
	}
	return f.access.SeesZone(z.AccountID, z.ID)
}

// listedOnly reports whether g passes no whole searched account, only zones it lists by id (a
// member limited to some zones). Such a grant is searched through its ids, by primary key: a
// query over the account's name index would walk every zone of the account to find the few
// listed ones.
func (f *zoneFinder) listedOnly(g store.ZoneGrant) bool {
	if g.AllAccounts {
		return false
	}
	for _, a := range f.accounts {
		if _, ok := slices.BinarySearch(g.Accounts, a); ok {
			return false
		}
	}
	return true
}

// listed calls fn with the zones of the searched accounts that g lists, a chunk of
// zoneLookupChunk at a time, until fn returns false.
func (f *zoneFinder) listed(g store.ZoneGrant, fn func([]store.Zone) bool) error {
	for start := 0; start < len(g.Zones); start += zoneLookupChunk {
		zs, err := store.ZonesByID(f.tx, f.accounts, g.Zones[start:min(start+zoneLookupChunk, len(g.Zones))])
		if err != nil {
			return err
		}
		if !fn(zs) {
			return nil
		}
	}
	return nil
}

// some reports whether g passes at least one zone of the searched accounts that the user sees
// (holding perm there, when valid).
func (f *zoneFinder) some(g store.ZoneGrant, perm authz.Perm) (bool, error) {
	if authz.ZoneSet(g).Empty() || len(f.accounts) == 0 {
		return false, nil
	}
	found := false
	if f.listedOnly(g) {
		err := f.listed(g, func(zs []store.Zone) bool {
			found = slices.ContainsFunc(zs, func(z store.Zone) bool { return f.sees(&z, perm) })
			return !found
		})
		return found, err
	}
	zs, _, err := store.ListZones(f.tx, store.ZoneFilter{AccountIDs: f.accounts, Grants: []store.ZoneGrant{g}, NoCount: true, Limit: 1})
	return len(zs) > 0, err
}

// any reports whether the user may see some zone of the searched accounts at all.
func (f *zoneFinder) any() (bool, error) { return f.some(f.seenGrant(anyZonePerm), anyZonePerm) }

// search returns the first zoneSearchPage zones the user may see (holding perm there, when
// valid) whose names start with prefix, in name order, and whether more match. Each account is
// searched on its own, the way its grant is served best: a page read in name order from the
// (account_id, name) index where the user sees every zone of the account, the listed zones by
// primary key where they see only some.
func (f *zoneFinder) search(prefix string, perm authz.Perm) ([]store.Zone, bool, error) {
	g := f.seenGrant(perm)
	var zs []store.Zone
	keep := func(more []store.Zone) {
		zs = append(zs, more...)
		slices.SortFunc(zs, func(a, b store.Zone) int {
			return stdcmp.Or(stdcmp.Compare(a.Name, b.Name), stdcmp.Compare(a.ID, b.ID))
		})
		zs = zs[:min(len(zs), zoneSearchPage+1)]
	}
	for _, a := range f.accounts {
		one := &zoneFinder{tx: f.tx, access: f.access, accounts: []string{a}, names: f.names}
		if !one.listedOnly(g) {
			page, _, err := store.ListZones(f.tx, store.ZoneFilter{AccountIDs: one.accounts, Grants: []store.ZoneGrant{g},
				Prefix: prefix, NoCount: true, Limit: zoneSearchPage + 1})
			if err != nil {
				return nil, false, err
			}
			keep(page)
			continue
		}
		// The best page among the listed zones, a chunk at a time: memory holds a chunk and a page.
		err := one.listed(g, func(chunk []store.Zone) bool {
			keep(slices.DeleteFunc(chunk, func(z store.Zone) bool { return !strings.HasPrefix(z.Name, prefix) }))
			return true
		})
		if err != nil {
			return nil, false, err
		}
	}
	more := len(zs) > zoneSearchPage
	zs = slices.DeleteFunc(zs[:min(len(zs), zoneSearchPage)], func(z store.Zone) bool { return !f.sees(&z, perm) })
	return zs, more, nil
}

// byIDs looks up the zones with the given ids that the user may see, by primary key, a chunk of
// ids per query; ids of other zones are absent from the result.
func (f *zoneFinder) byIDs(ids []string) (map[string]*store.Zone, error) {
	out := map[string]*store.Zone{}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !store.ValidID(id) })
	err := f.listed(store.ZoneGrant{Zones: ids}, func(zs []store.Zone) bool {
		for i := range zs {
			if f.sees(&zs[i], anyZonePerm) {
				out[zs[i].ID] = &zs[i]
			}
		}
		return true
	})
	return out, err
}

// splitZoneNames splits typed zone names (commas, spaces or new lines between them) into
// normalised names: lower case, without a final dot.
func splitZoneNames(s string) []string {
	var out []string
	for _, n := range splitList(s) {
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// byNames resolves typed zone names to the ids of zones the user may see. It returns a message
// for the form when a name matches no such zone, matches zones of several accounts, or when
// there are too many names.
func (f *zoneFinder) byNames(typed string) ([]string, string, error) {
	names := splitZoneNames(typed)
	if len(names) == 0 {
		return nil, "", nil
	}
	if len(names) > maxTypedZoneNames {
		return nil, "Type at most " + strconv.Itoa(maxTypedZoneNames) + " zone names at a time.", nil
	}
	found := map[string][]store.Zone{}
	if len(f.accounts) > 0 {
		zs, _, err := store.ListZones(f.tx, store.ZoneFilter{AccountIDs: f.accounts, Names: names, Grants: []store.ZoneGrant{f.seenGrant(anyZonePerm)}, NoCount: true})
		if err != nil {
			return nil, "", err
		}
		for _, z := range zs {
			if f.sees(&z, anyZonePerm) {
				found[z.Name] = append(found[z.Name], z)
			}
		}
	}
	var ids, unknown []string
	for _, n := range names {
		switch zs := found[n]; len(zs) {
		case 0:
			unknown = append(unknown, "“"+n+"”")
		case 1:
			ids = append(ids, zs[0].ID)
		default:
			return nil, "“" + n + "” is a zone of several of your accounts: choose the one you mean from the search list.", nil
		}
	}
	if len(unknown) > 0 {
		return nil, "No zone you can see is named " + joinWords(unknown) + ". Check the spelling, or search and choose from the list.", nil
	}
	return ids, "", nil
}

// choices turns zones into the search answer's entries, naming their accounts when the search
// spans several.
func (f *zoneFinder) choices(zs []store.Zone) []web.ZoneChoice {
	out := make([]web.ZoneChoice, len(zs))
	for i, z := range zs {
		out[i] = web.ZoneChoice{ID: z.ID, Name: z.Name}
		if len(f.accounts) > 1 {
			out[i].Account = f.names[z.AccountID]
		}
	}
	return out
}

// zoneSearchURL is the search address of a picker over account (every account of the user
// when empty), offering only zones where the user holds perm when perm is valid.
func zoneSearchURL(account string, perm authz.Perm) string {
	v := url.Values{}
	if account != "" {
		v.Set("account", account)
	}
	if perm.Valid() {
		v.Set("perm", perm.Group().ID)
	}
	if len(v) == 0 {
		return "/zones/search"
	}
	return "/zones/search?" + v.Encode()
}

// handleZoneSearch answers a zone picker's search box: GET /zones/search?q=<name prefix>
// [&account=<id>][&perm=<zone permission group id>] renders at most zoneSearchPage zones of the
// user's accounts (or of the one account) that the user may see — a member limited to some
// zones finds only those — with names starting with q. An account the user is not a member of
// answers 404, a role that sees no zone there 403. It changes nothing, so cross-origin
// protection lets it through like every GET; a request that a browser marks as coming from
// another site is refused all the same, so other sites cannot probe zone names with the
// user's cookie.
func (s *server) handleZoneSearch(w http.ResponseWriter, r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return errs.E(errs.Forbidden, "Zone search answers only the dashboard's own pages.")
	}
	p := principalFrom(r)
	q := r.URL.Query()
	ctx := r.Context()
	acc, err := tokens.UserAccess(s.DB.Gorm(ctx), p.User.ID)
	if err != nil {
		return err
	}
	accounts := p.Accounts
	if id := q.Get("account"); id != "" || q.Has("account") {
		i := slices.IndexFunc(p.Accounts, func(a store.Account) bool { return a.ID == id })
		if i < 0 || !acc.Member(id) {
			return errs.E(errs.NotFound, "account not found")
		}
		accounts = p.Accounts[i : i+1]
	}
	f := newZoneFinder(s.DB.Gorm(ctx), acc, accounts)
	var v web.ZoneSearchView
	v.Query = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(q.Get("q"))), ".")
	perm := anyZonePerm
	if id := q.Get("perm"); id != "" {
		g, ok := authz.GroupByID(id)
		if !ok || g.Scope != authz.ScopeZone {
			v.Error = "Unknown zone permission."
		} else {
			perm = g.Perm
		}
	}
	switch {
	case len([]rune(v.Query)) > maxZoneQuery:
		v.Error = "A zone name has at most 253 characters."
	case strings.IndexFunc(v.Query, func(c rune) bool { return !zoneNameRune(c) }) >= 0:
		v.Error = "Zone names hold only letters, digits, hyphens and dots."
	}
	if v.Error != "" {
		return s.render(w, r, http.StatusUnprocessableEntity, web.ZoneSearchResults(v))
	}
	if ok, err := f.any(); err != nil {
		return err
	} else if !ok {
		name := "your accounts"
		if len(accounts) == 1 {
			name = accounts[0].Name
		}
		return errs.E(errs.Forbidden, "Your role in %s does not let you see its zones.", name)
	}
	zs, more, err := f.search(v.Query, perm)
	if err != nil {
		return err
	}
	v.Zones, v.More = f.choices(zs), more
	return s.render(w, r, http.StatusOK, web.ZoneSearchResults(v))
}

// zoneNameRune reports whether c may appear in a zone name as typed (IDNs in punycode).
func zoneNameRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
}
