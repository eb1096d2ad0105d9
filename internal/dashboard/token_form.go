package dashboard

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/internal/tokens"
)

// The token form. Every permission row says what (resource type, permission group, Read or
// Edit) and where (which zones or account). The form works without JavaScript: buttons named
// add_row, remove_row, refresh, review, back and confirm tell the handler what to do with the
// posted rows, and every answer re-renders the whole form with the user's input kept.

// Row field values.
const (
	scopeZone    = "zone"
	scopeAccount = "account"
	scopeUser    = "user"

	levelRead = "read"
	levelEdit = "edit"

	modeAccount = "account" // all zones of an account
	modeZones   = "zone"    // specific zones
	modeExcept  = "except"  // all zones of an account except some
	// modeAll is "com.cloudflare.api.account.zone.*": every zone the owner can reach, in every
	// account, now and later (user-owned tokens only; capped by the owner's access).
	modeAll = "all"

	// Workers KV rows: which namespaces of the account.
	nsAll    = ""       // every namespace of the account (the account key)
	nsOnly   = "only"   // the listed namespaces (namespace keys)
	nsExcept = "except" // every namespace but the listed ones (the account key and a deny)

	// maxRows bounds the permission rows of one token.
	maxRows = 30
	// maxIPEntries bounds each IP list.
	maxIPEntries = 100
	dateLayout   = "2006-01-02"
)

// permLabel is a Read/Write pair of permission groups as the form shows it ("DNS": DNS Read,
// DNS Write). Some labels have only one of the two (Analytics Read, Cache Purge).
type permLabel struct {
	scope             authz.Scope
	name              string
	read, write       authz.Perm
	hasRead, hasWrite bool
}

// labels lists the permission labels in catalogue order.
var labels = func() []permLabel {
	var out []permLabel
	for _, g := range authz.Groups() {
		i := slices.IndexFunc(out, func(l permLabel) bool { return l.scope == g.Scope && l.name == g.Label })
		if i < 0 {
			out = append(out, permLabel{scope: g.Scope, name: g.Label})
			i = len(out) - 1
		}
		if g.Write {
			out[i].write, out[i].hasWrite = g.Perm, true
		} else {
			out[i].read, out[i].hasRead = g.Perm, true
		}
	}
	return out
}()

func scopeOf(s string) authz.Scope {
	switch s {
	case scopeZone:
		return authz.ScopeZone
	case scopeAccount:
		return authz.ScopeAccount
	case scopeUser:
		return authz.ScopeUser
	}
	return 0
}

func scopeName(s authz.Scope) string {
	switch s {
	case authz.ScopeZone:
		return scopeZone
	case authz.ScopeAccount:
		return scopeAccount
	case authz.ScopeUser:
		return scopeUser
	}
	return ""
}

func findLabel(scope authz.Scope, name string) (permLabel, bool) {
	i := slices.IndexFunc(labels, func(l permLabel) bool { return l.scope == scope && l.name == name })
	if i < 0 {
		return permLabel{}, false
	}
	return labels[i], true
}

func labelOf(p authz.Perm) permLabel {
	l, _ := findLabel(p.Scope(), p.Group().Label)
	return l
}

// perm returns the group of a label at a level, if it exists.
func (l permLabel) perm(level string) (authz.Perm, bool) {
	switch level {
	case levelRead:
		return l.read, l.hasRead
	case levelEdit:
		return l.write, l.hasWrite
	}
	return 0, false
}

// denyPerm is the group an "except" row denies on the excluded zones: the label's Read group
// when there is one, because denying Read takes Write away too, so the excluded zones get no
// access of the label at all.
func (l permLabel) denyPerm() authz.Perm {
	if l.hasRead {
		return l.read
	}
	return l.write
}

func levelOf(p authz.Perm) string {
	if p.Group().Write {
		return levelEdit
	}
	return levelRead
}

// rowInput is one permission row as posted.
type rowInput struct {
	Scope, Group, Level string
	ZoneMode, AccountID string
	ZoneIDs             []string
	// ZoneNames are zone names typed into the zone picker (without JavaScript), resolved to
	// ZoneIDs when the form is checked (resolveZoneNames).
	ZoneNames          string
	DNSNames, DNSTypes string
	// NsMode and NamespaceIDs narrow a Workers KV row to some namespaces of its account.
	NsMode       string
	NamespaceIDs []string
	// policy is the index of the policy a row was read from (rowsFromPolicies only).
	policy int
}

// namespaceKey is the nested resource key of a KV namespace.
func namespaceKey(id string) string { return "com.cloudflare.api.account.kv.namespace." + id }

// perm returns the row's permission group, if its scope, label and level name one.
func (r rowInput) perm() (authz.Perm, bool) {
	l, ok := findLabel(scopeOf(r.Scope), r.Group)
	if !ok {
		return 0, false
	}
	return l.perm(r.Level)
}

// tokenInput is the token form as posted.
type tokenInput struct {
	Name                  string
	Rows                  []rowInput
	IPIn, IPNotIn         string
	NotBefore, ExpiresOn  string
	ExactNB, ExactExpires string
	Template              string
	// Unrepresentable and Replace: see web.TokenFormView.
	Unrepresentable bool
	Replace         bool
}

// parseTokenInput reads the token form from a parsed POST form.
func parseTokenInput(f url.Values) tokenInput {
	in := tokenInput{
		Name: f.Get("name"), IPIn: f.Get("ip_in"), IPNotIn: f.Get("ip_not_in"),
		NotBefore: strings.TrimSpace(f.Get("not_before")), ExpiresOn: strings.TrimSpace(f.Get("expires_on")),
		ExactNB: f.Get("exact_not_before"), ExactExpires: f.Get("exact_expires_on"), Template: f.Get("template"),
		Unrepresentable: f.Get("unrepresentable") == "1", Replace: f.Get("replace_policies") == "1",
	}
	for i := range maxRows {
		p := "rows-" + strconv.Itoa(i) + "-"
		if _, ok := f[p+"scope"]; !ok {
			continue
		}
		in.Rows = append(in.Rows, rowInput{Scope: f.Get(p + "scope"), Group: f.Get(p + "group"), Level: f.Get(p + "level"),
			ZoneMode: f.Get(p + "zone_mode"), AccountID: f.Get(p + "account"), ZoneIDs: compactStrings(f[p+"zones"]),
			ZoneNames: f.Get(p + "zone_names"), DNSNames: f.Get(p + "dns_names"), DNSTypes: f.Get(p + "dns_types"),
			NsMode: f.Get(p + "ns_mode"), NamespaceIDs: compactStrings(f[p+"namespaces"])})
	}
	return in
}

// values encodes the input back into form values, for the hidden fields of the summary page.
func (in tokenInput) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("name", in.Name)
	set("ip_in", in.IPIn)
	set("ip_not_in", in.IPNotIn)
	set("not_before", in.NotBefore)
	set("expires_on", in.ExpiresOn)
	set("exact_not_before", in.ExactNB)
	set("exact_expires_on", in.ExactExpires)
	set("template", in.Template)
	if in.Unrepresentable {
		v.Set("unrepresentable", "1")
	}
	if in.Replace {
		v.Set("replace_policies", "1")
	}
	for i, r := range in.Rows {
		p := "rows-" + strconv.Itoa(i) + "-"
		v.Set(p+"scope", r.Scope)
		set(p+"group", r.Group)
		set(p+"level", r.Level)
		set(p+"zone_mode", r.ZoneMode)
		set(p+"account", r.AccountID)
		for _, z := range r.ZoneIDs {
			v.Add(p+"zones", z)
		}
		set(p+"zone_names", r.ZoneNames)
		set(p+"dns_names", r.DNSNames)
		set(p+"dns_types", r.DNSTypes)
		set(p+"ns_mode", r.NsMode)
		for _, n := range r.NamespaceIDs {
			v.Add(p+"namespaces", n)
		}
	}
	return v
}

func compactStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// splitList splits a list typed by a person: entries separated by commas, spaces or new lines.
func splitList(s string) []string {
	return compactStrings(strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}))
}

// defaultRow is the row "Add permission" appends: the first zone permission the user may grant
// (at Read when they may grant Read, the safer default),
// on all zones of the current account when they may.
func (g *grants) defaultRow(current string) rowInput {
	r := rowInput{Scope: scopeZone, ZoneMode: modeAccount, AccountID: current}
	for _, sc := range []authz.Scope{authz.ScopeZone, authz.ScopeAccount, authz.ScopeUser} {
		for _, l := range labels {
			if l.scope != sc {
				continue
			}
			for _, level := range []string{levelRead, levelEdit} {
				if p, ok := l.perm(level); ok && g.anywhere(p) {
					r.Scope, r.Group, r.Level = scopeName(sc), l.name, level
					return r
				}
			}
		}
	}
	return r
}

// templateInput fills the form from a template: one row per permission group, on all zones of
// (or on) the current account.
func templateInput(t tokens.Template, current string, userRows bool) tokenInput {
	in := tokenInput{Name: t.Name, Template: t.Name}
	for _, p := range t.ZonePerms {
		r := rowInput{Scope: scopeZone, Group: p.Group().Label, Level: levelOf(p), ZoneMode: modeAccount, AccountID: current}
		if t.DNS != nil && (p == authz.DNSRead || p == authz.DNSWrite) {
			r.DNSNames, r.DNSTypes = strings.Join(t.DNS.Names, ", "), strings.Join(t.DNS.Types, ", ")
		}
		in.Rows = append(in.Rows, r)
	}
	for _, p := range t.AccountPerms {
		in.Rows = append(in.Rows, rowInput{Scope: scopeAccount, Group: p.Group().Label, Level: levelOf(p), AccountID: current})
	}
	if userRows {
		for _, p := range t.UserPerms {
			in.Rows = append(in.Rows, rowInput{Scope: scopeUser, Group: p.Group().Label, Level: levelOf(p)})
		}
	}
	return in
}

// resolveZoneNames turns the zone names typed into each row's picker into zone ids (added to
// the row's chosen zones), and reports names that name no zone the user sees beside the row.
func (g *grants) resolveZoneNames(in *tokenInput, fe *formErrors) error {
	for i := range in.Rows {
		r := &in.Rows[i]
		if strings.TrimSpace(r.ZoneNames) == "" || r.Scope != scopeZone || (r.ZoneMode != modeZones && r.ZoneMode != modeExcept) {
			continue
		}
		ids, msg, err := g.finder.byNames(r.ZoneNames)
		if err != nil {
			return err
		}
		if msg != "" {
			fe.row(i, "zones", "%s", msg)
			continue
		}
		r.ZoneIDs = compactStrings(append(r.ZoneIDs, ids...))
		r.ZoneNames = ""
	}
	var ids []string
	for _, r := range in.Rows {
		ids = append(ids, r.ZoneIDs...)
	}
	return g.preloadZones(ids)
}

// formErrors collects messages for the form's fields and for each row's fields.
type formErrors struct {
	fields map[string]string
	rows   map[int]map[string]string
}

func newFormErrors() *formErrors {
	return &formErrors{fields: map[string]string{}, rows: map[int]map[string]string{}}
}

func (e *formErrors) field(name, format string, args ...any) {
	if _, ok := e.fields[name]; !ok {
		e.fields[name] = fmt.Sprintf(format, args...)
	}
}

func (e *formErrors) row(i int, name, format string, args ...any) {
	if e.rows[i] == nil {
		e.rows[i] = map[string]string{}
	}
	if _, ok := e.rows[i][name]; !ok {
		e.rows[i][name] = fmt.Sprintf(format, args...)
	}
}

func (e *formErrors) empty() bool { return len(e.fields) == 0 && len(e.rows) == 0 }

// validate checks the input against what the user may grant and builds the service's input. The
// second result is nil when there are errors; they are in the returned formErrors.
func (g *grants) validate(in tokenInput, now time.Time, keep []authz.PolicyJSON) (*tokens.Input, *formErrors) {
	fe := newFormErrors()
	out := &tokens.Input{Name: strings.TrimSpace(in.Name)}
	if out.Name == "" {
		fe.field("name", "Give the token a name, e.g. the script or tool that will use it.")
	} else if len([]rune(out.Name)) > tokens.MaxNameLength {
		fe.field("name", "A token name has at most %d characters.", tokens.MaxNameLength)
	}
	if keep != nil {
		out.Policies = keep
	} else {
		if len(in.Rows) == 0 {
			fe.field("rows", "Add at least one permission: a token without permissions can do nothing.")
		}
		for i, r := range in.Rows {
			out.Policies = append(out.Policies, g.rowPolicies(i, r, fe)...)
		}
	}
	cond, ok := parseIPLists(in.IPIn, in.IPNotIn, fe)
	if ok {
		out.Condition = cond
	}
	out.NotBefore = parseDate("not_before", in.NotBefore, in.ExactNB, false, fe)
	out.ExpiresOn = parseDate("expires_on", in.ExpiresOn, in.ExactExpires, true, fe)
	if out.NotBefore != nil && out.ExpiresOn != nil && !out.ExpiresOn.After(*out.NotBefore) {
		fe.field("expires_on", "The end date must be after the start date.")
	}
	if out.ExpiresOn != nil && !out.ExpiresOn.After(now) {
		fe.field("expires_on", "The end date is in the past; choose a later one.")
	}
	if !fe.empty() {
		return nil, fe
	}
	return out, fe
}

// rowPolicies checks one row and returns its policies: an allow policy, and for "all zones
// except" a deny policy on the excluded zones.
func (g *grants) rowPolicies(i int, r rowInput, fe *formErrors) []authz.PolicyJSON {
	sc := scopeOf(r.Scope)
	if sc == 0 || (sc == authz.ScopeUser && !g.userRows) {
		fe.row(i, "scope", "Choose what the permission applies to.")
		return nil
	}
	l, ok := findLabel(sc, r.Group)
	if !ok {
		fe.row(i, "group", "Choose a permission.")
		return nil
	}
	perm, ok := l.perm(r.Level)
	if !ok {
		fe.row(i, "level", "%s has no %s level.", l.name, levelWord(r.Level))
		return nil
	}
	if !g.anywhere(perm) {
		fe.row(i, "group", "You do not hold %s yourself, so you cannot put it in a token.", perm)
		return nil
	}
	allow := authz.PolicyJSON{Effect: authz.Allow, PermissionGroups: []authz.GroupRef{{ID: perm.Group().ID}}, Resources: map[string]any{}}
	var deny *authz.PolicyJSON
	switch sc {
	case authz.ScopeZone:
		switch r.ZoneMode {
		case modeAccount, modeExcept:
			a := g.acctByID[r.AccountID]
			if a == nil {
				fe.row(i, "account", "Choose one of your accounts.")
				return nil
			}
			if !g.allZonesOf(perm, a.ID) {
				fe.row(i, "account", "You do not hold %s on all zones of %s, so you cannot grant it there.", perm, a.Name)
				return nil
			}
			allow.Resources["com.cloudflare.api.account."+a.ID] = map[string]any{"com.cloudflare.api.account.zone.*": "*"}
			if r.ZoneMode == modeExcept {
				if len(r.ZoneIDs) == 0 {
					fe.row(i, "zones", "Choose the zones to leave out, or pick “All zones of an account”.")
					return nil
				}
				deny = &authz.PolicyJSON{Effect: authz.Deny, PermissionGroups: []authz.GroupRef{{ID: l.denyPerm().Group().ID}}, Resources: map[string]any{}}
				for _, id := range r.ZoneIDs {
					z := g.zoneFor(id)
					if z == nil || z.AccountID != a.ID {
						fe.row(i, "zones", "Every zone to leave out must be a zone of %s.", a.Name)
						return nil
					}
					deny.Resources["com.cloudflare.api.account.zone."+z.ID] = "*"
				}
			}
		case modeZones:
			if len(r.ZoneIDs) == 0 {
				fe.row(i, "zones", "Choose at least one zone.")
				return nil
			}
			for _, id := range r.ZoneIDs {
				z := g.zoneFor(id)
				if z == nil {
					fe.row(i, "zones", "Choose zones of your own accounts.")
					return nil
				}
				if !g.zone(perm, z) {
					fe.row(i, "zones", "You do not hold %s on %s, so you cannot grant it there.", perm, z.Name)
					return nil
				}
				allow.Resources["com.cloudflare.api.account.zone."+z.ID] = "*"
			}
		case modeAll:
			if !g.userRows {
				fe.row(i, "zone_mode", "An account's token can only reach that account's zones: choose “All zones of an account”.")
				return nil
			}
			allow.Resources["com.cloudflare.api.account.zone.*"] = "*"
		default:
			fe.row(i, "zone_mode", "Choose which zones the permission applies to.")
			return nil
		}
		if perm == authz.DNSRead || perm == authz.DNSWrite {
			names, types := splitList(r.DNSNames), splitList(r.DNSTypes)
			if len(names) > 0 || len(types) > 0 {
				allow.DNSRecords = &authz.DNSConstraint{Names: names, Types: types}
				if _, err := authz.ParsePolicies([]authz.PolicyJSON{allow}); err != nil {
					field := "dns_names"
					if strings.Contains(fieldOf(err), ".types") {
						field = "dns_types"
					}
					fe.row(i, field, "%s", dnsMessage(err))
					return nil
				}
			}
		}
	case authz.ScopeAccount:
		a := g.acctByID[r.AccountID]
		if a == nil {
			fe.row(i, "account", "Choose one of your accounts.")
			return nil
		}
		if !authz.IsKV(perm) || r.NsMode == nsAll {
			if !g.account(perm, a.ID) {
				fe.row(i, "account", "You do not hold %s on %s, so you cannot grant it there.", perm, a.Name)
				return nil
			}
			allow.Resources["com.cloudflare.api.account."+a.ID] = "*"
			break
		}
		if r.NsMode != nsOnly && r.NsMode != nsExcept {
			fe.row(i, "ns_mode", "Choose which namespaces the permission applies to.")
			return nil
		}
		if len(r.NamespaceIDs) == 0 {
			if r.NsMode == nsOnly {
				fe.row(i, "namespaces", "Choose at least one namespace.")
			} else {
				fe.row(i, "namespaces", "Choose the namespaces to leave out, or pick “All namespaces of the account”.")
			}
			return nil
		}
		nested := map[string]any{}
		for _, id := range r.NamespaceIDs {
			n := g.nsByID[id]
			if n == nil || n.AccountID != a.ID {
				fe.row(i, "namespaces", "Choose namespaces of %s.", a.Name)
				return nil
			}
			if r.NsMode == nsOnly && !g.namespace(perm, a.ID, n.ID) {
				fe.row(i, "namespaces", "You do not hold %s on the namespace %s, so you cannot grant it there.", perm, n.Title)
				return nil
			}
			nested[namespaceKey(n.ID)] = "*"
		}
		if r.NsMode == nsOnly {
			allow.Resources["com.cloudflare.api.account."+a.ID] = nested
			break
		}
		if !g.account(perm, a.ID) {
			fe.row(i, "account", "You do not hold %s on %s, so you cannot grant it there.", perm, a.Name)
			return nil
		}
		allow.Resources["com.cloudflare.api.account."+a.ID] = "*"
		deny = &authz.PolicyJSON{Effect: authz.Deny, PermissionGroups: []authz.GroupRef{{ID: l.denyPerm().Group().ID}},
			Resources: map[string]any{"com.cloudflare.api.account." + a.ID: nested}}
	case authz.ScopeUser:
		if !g.user(perm) {
			fe.row(i, "group", "You do not hold %s, so you cannot put it in a token.", perm)
			return nil
		}
		allow.Resources["com.cloudflare.api.user."+g.userID] = "*"
	}
	if deny != nil {
		return []authz.PolicyJSON{allow, *deny}
	}
	return []authz.PolicyJSON{allow}
}

func levelWord(level string) string {
	if level == levelEdit {
		return "Edit"
	}
	return "Read"
}

func fieldOf(err error) string {
	var ve *authz.ValidationError
	if errors.As(err, &ve) {
		return ve.Field
	}
	return ""
}

// dnsMessage turns an engine validation error into a sentence.
func dnsMessage(err error) string {
	msg := err.Error()
	var ve *authz.ValidationError
	if errors.As(err, &ve) {
		msg = ve.Message
	}
	if msg == "" {
		return "This value is not valid."
	}
	return strings.ToUpper(msg[:1]) + strings.TrimSuffix(msg[1:], ".") + "."
}

// parseIPLists validates the client IP lists and returns the condition (nil when both are empty).
func parseIPLists(in, notIn string, fe *formErrors) (*authz.Condition, bool) {
	check := func(field, s string) ([]string, bool) {
		entries := splitList(s)
		if len(entries) > maxIPEntries {
			fe.field(field, "At most %d addresses or ranges.", maxIPEntries)
			return nil, false
		}
		for _, e := range entries {
			if _, err := netip.ParsePrefix(e); err == nil {
				continue
			}
			if _, err := netip.ParseAddr(e); err == nil {
				continue
			}
			fe.field(field, "“%s” is not an IP address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/32.", e)
			return nil, false
		}
		return entries, true
	}
	a, ok1 := check("ip_in", in)
	b, ok2 := check("ip_not_in", notIn)
	if !ok1 || !ok2 {
		return nil, false
	}
	if len(a) == 0 && len(b) == 0 {
		return nil, true
	}
	c := &authz.Condition{RequestIP: &authz.IPCondition{In: a, NotIn: b}}
	if _, err := authz.ParseCondition(c); err != nil {
		field := "ip_in"
		if strings.Contains(fieldOf(err), "not_in") {
			field = "ip_not_in"
		}
		fe.field(field, "%s", dnsMessage(err))
		return nil, false
	}
	return c, true
}

// parseDate reads a start or end date. An end date includes its whole day (UTC): the token
// expires at the next midnight. When the date is the one shown for the token's stored exact
// time, the exact time is kept.
func parseDate(field, s, exact string, end bool, fe *formErrors) *time.Time {
	if s == "" {
		return nil
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		fe.field(field, "Enter a date as YYYY-MM-DD.")
		return nil
	}
	if exact != "" {
		if t, err := time.Parse(time.RFC3339, exact); err == nil && dateOf(t, end) == s {
			return &t
		}
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	if input.Time(field, d) != nil { // what both databases store; the tokens service checks it too
		fe.field(field, "Choose a date between 1970-01-01 and 9999-12-30.")
		return nil
	}
	return &d
}

// dateOf is the date the form shows for a stored time: for an end, the last day the token works.
func dateOf(t time.Time, end bool) string {
	t = t.UTC()
	if end {
		t = t.Add(-time.Second)
	}
	return t.Format(dateLayout)
}

// serviceFieldError puts an error of the tokens service beside the field it names, or on the
// form. It reports false for errors that are not about the input.
func serviceFieldError(fe *formErrors, err error) bool {
	e := errs.As(err)
	if e == nil || (e.Code != errs.Invalid && e.Code != errs.Forbidden && e.Code != errs.Conflict) {
		return false
	}
	switch {
	case e.Field == "name":
		fe.field("name", "%s", e.Message)
	case e.Field == "expires_on", e.Field == "not_before":
		fe.field(e.Field, "%s", e.Message)
	case strings.Contains(e.Field, "not_in"):
		fe.field("ip_not_in", "%s", e.Message)
	case strings.HasPrefix(e.Field, "condition"):
		fe.field("ip_in", "%s", e.Message)
	case strings.HasPrefix(e.Field, "policies"):
		fe.field("rows", "%s", e.Message)
	default:
		fe.field("", "%s", e.Message)
	}
	return true
}

// inputFromToken fills the form from a stored token, for editing. Policies the rows cannot
// express exactly (written through the API) mark the input Unrepresentable.
func (g *grants) inputFromToken(t *tokens.Token) tokenInput {
	in := tokenInput{Name: t.Name}
	if t.Condition != nil && t.Condition.RequestIP != nil {
		in.IPIn = strings.Join(t.Condition.RequestIP.In, ", ")
		in.IPNotIn = strings.Join(t.Condition.RequestIP.NotIn, ", ")
	}
	if t.NotBefore != nil {
		in.NotBefore, in.ExactNB = dateOf(*t.NotBefore, false), t.NotBefore.UTC().Format(time.RFC3339)
	}
	if t.ExpiresOn != nil {
		in.ExpiresOn, in.ExactExpires = dateOf(*t.ExpiresOn, true), t.ExpiresOn.UTC().Format(time.RFC3339)
	}
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		in.Unrepresentable = true
		return in
	}
	in.Rows = rowsFromPolicies(ps, g.accountOf)
	// Exact when the rows, turned back into policies, grant the same as the token.
	back := rowsToPolicies(in.Rows, g.userID)
	bp, err := authz.ParsePolicies(back)
	if err != nil || authz.SubsetWithZones(bp, ps, g.accountOf) != nil || authz.SubsetWithZones(ps, bp, g.accountOf) != nil {
		in.Unrepresentable = true
	}
	return in
}

// rowsFromPolicies maps policies in the shapes the form writes back to rows.
func rowsFromPolicies(ps []authz.Policy, accountOf func(string) (string, bool)) []rowInput {
	var rows []rowInput
	for pi, p := range ps {
		if p.Effect != authz.Allow {
			continue
		}
		for _, perm := range p.Perms {
			l := labelOf(perm)
			if !perm.Group().Write && l.hasWrite && slices.Contains(p.Perms, l.write) {
				continue // implied by the Write group of the same label
			}
			base := rowInput{Scope: scopeName(perm.Scope()), Group: l.name, Level: levelOf(perm)}
			if p.DNS != nil {
				base.DNSNames, base.DNSTypes = strings.Join(p.DNS.Names, ", "), strings.Join(p.DNS.Types, ", ")
			}
			var zoneIDs []string
			for _, s := range p.Resources {
				switch {
				case perm.Scope() == authz.ScopeZone && s.Kind == authz.SelectZone:
					zoneIDs = append(zoneIDs, s.ID)
				case perm.Scope() == authz.ScopeZone && s.Kind == authz.SelectAllZones:
					r := base
					r.ZoneMode = modeAll
					rows = append(rows, r)
				case perm.Scope() == authz.ScopeZone && s.Kind == authz.SelectAccountZones:
					r := base
					r.ZoneMode, r.AccountID = modeAccount, s.ID
					rows = append(rows, r)
				case perm.Scope() == authz.ScopeAccount && s.Kind == authz.SelectAccount:
					r := base
					r.AccountID = s.ID
					rows = append(rows, r)
				case authz.IsKV(perm) && s.Kind == authz.SelectNamespace:
					// Namespaces of one account in one policy make one "only these" row.
					if j := slices.IndexFunc(rows, func(r rowInput) bool {
						return r.policy == pi && r.Group == base.Group && r.Level == base.Level && r.AccountID == s.ID && r.NsMode == nsOnly
					}); j >= 0 {
						rows[j].NamespaceIDs = append(rows[j].NamespaceIDs, s.Namespace)
						continue
					}
					r := base
					r.AccountID, r.NsMode, r.NamespaceIDs, r.policy = s.ID, nsOnly, []string{s.Namespace}, pi
					rows = append(rows, r)
				case perm.Scope() == authz.ScopeUser && (s.Kind == authz.SelectUser || s.Kind == authz.SelectAllUsers):
					rows = append(rows, base)
				}
			}
			if len(zoneIDs) > 0 {
				r := base
				r.ZoneMode, r.ZoneIDs = modeZones, zoneIDs
				rows = append(rows, r)
			}
		}
	}
	// Deny policies on single zones become the "except" of the rows they narrow.
	for _, p := range ps {
		if p.Effect != authz.Deny {
			continue
		}
		for _, perm := range p.Perms {
			l := labelOf(perm)
			for i := range rows {
				r := &rows[i]
				if r.Scope == scopeAccount && authz.IsKV(perm) && r.Group == l.name && (r.NsMode == nsAll || r.NsMode == nsExcept) {
					for _, s := range p.Resources {
						if s.Kind == authz.SelectNamespace && s.ID == r.AccountID && !slices.Contains(r.NamespaceIDs, s.Namespace) {
							r.NsMode = nsExcept
							r.NamespaceIDs = append(r.NamespaceIDs, s.Namespace)
						}
					}
					continue
				}
				if r.Scope != scopeZone || r.Group != l.name || (r.ZoneMode != modeAccount && r.ZoneMode != modeExcept) {
					continue
				}
				for _, s := range p.Resources {
					if a, ok := accountOf(s.ID); s.Kind == authz.SelectZone && ok && a == r.AccountID && !slices.Contains(r.ZoneIDs, s.ID) {
						r.ZoneMode = modeExcept
						r.ZoneIDs = append(r.ZoneIDs, s.ID)
					}
				}
			}
		}
	}
	return rows
}

// rowsToPolicies builds policies from rows without checking them (see grants.rowPolicies for
// the checked version); inputFromToken uses it to test whether rows express a token exactly.
func rowsToPolicies(rows []rowInput, userID string) []authz.PolicyJSON {
	var out []authz.PolicyJSON
	for _, r := range rows {
		l, ok := findLabel(scopeOf(r.Scope), r.Group)
		if !ok {
			continue
		}
		perm, ok := l.perm(r.Level)
		if !ok {
			continue
		}
		allow := authz.PolicyJSON{Effect: authz.Allow, PermissionGroups: []authz.GroupRef{{ID: perm.Group().ID}}, Resources: map[string]any{}}
		var deny *authz.PolicyJSON
		switch r.Scope {
		case scopeZone:
			if r.ZoneMode == modeAll {
				allow.Resources["com.cloudflare.api.account.zone.*"] = "*"
			} else if r.ZoneMode == modeZones {
				for _, z := range r.ZoneIDs {
					allow.Resources["com.cloudflare.api.account.zone."+z] = "*"
				}
			} else {
				allow.Resources["com.cloudflare.api.account."+r.AccountID] = map[string]any{"com.cloudflare.api.account.zone.*": "*"}
				if r.ZoneMode == modeExcept && len(r.ZoneIDs) > 0 {
					deny = &authz.PolicyJSON{Effect: authz.Deny, PermissionGroups: []authz.GroupRef{{ID: l.denyPerm().Group().ID}}, Resources: map[string]any{}}
					for _, z := range r.ZoneIDs {
						deny.Resources["com.cloudflare.api.account.zone."+z] = "*"
					}
				}
			}
			if names, types := splitList(r.DNSNames), splitList(r.DNSTypes); len(names)+len(types) > 0 {
				allow.DNSRecords = &authz.DNSConstraint{Names: names, Types: types}
			}
		case scopeAccount:
			nested := map[string]any{}
			for _, n := range r.NamespaceIDs {
				nested[namespaceKey(n)] = "*"
			}
			switch {
			case authz.IsKV(perm) && r.NsMode == nsOnly:
				allow.Resources["com.cloudflare.api.account."+r.AccountID] = nested
			case authz.IsKV(perm) && r.NsMode == nsExcept && len(nested) > 0:
				allow.Resources["com.cloudflare.api.account."+r.AccountID] = "*"
				deny = &authz.PolicyJSON{Effect: authz.Deny, PermissionGroups: []authz.GroupRef{{ID: l.denyPerm().Group().ID}},
					Resources: map[string]any{"com.cloudflare.api.account." + r.AccountID: nested}}
			default:
				allow.Resources["com.cloudflare.api.account."+r.AccountID] = "*"
			}
		case scopeUser:
			allow.Resources["com.cloudflare.api.user."+userID] = "*"
		}
		out = append(out, allow)
		if deny != nil {
			out = append(out, *deny)
		}
	}
	return out
}
