package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/jsonappend"
	"github.com/latchkey/latchkey/internal/store"
)

// zoneJSON is the zone object of API.md §4, with every field cloudflare-go v4 marks required
// (issue 8, item 9).
type zoneJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Status      string    `json:"status"`
	Paused      bool      `json:"paused"`
	Type        string    `json:"type"`
	Account     idName    `json:"account"`
	Permissions []string  `json:"permissions"`
	Plan        idName    `json:"plan"`
	NameServers []string  `json:"name_servers"`
	CreatedOn   time.Time `json:"created_on"`
	ModifiedOn  time.Time `json:"modified_on"`
	// ActivatedOn is when the zone became active (at creation, unless LATCHKEY_ZONE_ACTIVATION
	// is delegation); null while it is pending.
	ActivatedOn *time.Time `json:"activated_on"`
	// DevelopmentMode is the seconds left in development mode (a cache bypass Latchkey does not
	// have): always 0, as Cloudflare answers when it is off.
	DevelopmentMode int      `json:"development_mode"`
	Meta            zoneMeta `json:"meta"`
	// The name servers, registrar and DNS host before the zone moved here: Latchkey does not
	// look them up, and Cloudflare answers null when it does not know them.
	OriginalNameServers []string  `json:"original_name_servers"`
	OriginalRegistrar   *string   `json:"original_registrar"`
	OriginalDNSHost     *string   `json:"original_dnshost"`
	Owner               zoneOwner `json:"owner"`
}

// zoneMeta is the zone's meta block, with the values of a zone without Cloudflare's paid extras.
type zoneMeta struct {
	CDNOnly                bool `json:"cdn_only"`
	CustomCertificateQuota int  `json:"custom_certificate_quota"`
	DNSOnly                bool `json:"dns_only"`
	FoundationDNS          bool `json:"foundation_dns"`
	PageRuleQuota          int  `json:"page_rule_quota"`
	PhishingDetected       bool `json:"phishing_detected"`
	Step                   int  `json:"step"`
}

// zoneOwner is the zone's owner: its account, which Cloudflare calls an organization.
type zoneOwner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) zoneJSON(r *http.Request, z *store.Zone, accountNames map[string]string) zoneJSON {
	p := PrincipalFrom(r.Context())
	res := authz.Zone(z.AccountID, z.ID)
	perms := []string{}
	for _, g := range authz.Groups() {
		if g.Scope == authz.ScopeZone && p.Decide(g.Perm, res).Allowed {
			perms = append(perms, "#"+g.Name)
		}
	}
	out := zoneJSON{ID: z.ID, Name: z.Name, Status: z.Status, Paused: z.Paused, Type: z.Type,
		Account: idName{ID: z.AccountID, Name: accountNames[z.AccountID]}, Permissions: perms,
		Plan: idName{ID: z.Plan, Name: z.Plan}, NameServers: slices.Clone(s.NameServers), CreatedOn: z.CreatedAt.UTC(), ModifiedOn: z.UpdatedAt.UTC(),
		Meta:  zoneMeta{Step: 2},
		Owner: zoneOwner{ID: z.AccountID, Name: accountNames[z.AccountID], Type: "organization"}}
	if z.ActivatedOn != nil {
		at := z.ActivatedOn.UTC()
		out.ActivatedOn = &at
	}
	return out
}

// zoneStatuses are the values of the status filter.
var zoneStatuses = []string{"active", "pending", "initializing", "moved", "deleted", "deactivated"}

// nameMatch reads a name filter of GET /zones: "value" or "operator:value" with one of
// store.NameOps (name=contains:example). A value with a colon before an unknown operator is
// refused, since no domain or account name is meant that way.
func nameMatch(param, v string) (store.NameMatch, error) {
	if op, rest, ok := strings.Cut(v, ":"); ok {
		if !slices.Contains(store.NameOps, store.NameOp(op)) {
			return store.NameMatch{}, errs.InvalidField(param, "%s takes a value or operator:value, with operator one of %s.", param, joinOps())
		}
		if rest == "" {
			return store.NameMatch{}, errs.InvalidField(param, "%s=%s: needs a value after the colon.", param, op)
		}
		return store.NameMatch{Op: store.NameOp(op), Value: rest}, nil
	}
	return store.NameMatch{Op: store.NameEqual, Value: v}, nil
}

func joinOps() string {
	s := make([]string, len(store.NameOps))
	for i, op := range store.NameOps {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

// zoneListFilter reads the query of GET /zones: page, per_page (clamped into 5..50), name and
// account.name (with operators), account.id, status, match (all|any), order (name, status,
// account.id, account.name, plan.id) and direction (asc|desc; default asc).
func zoneListFilter(r *http.Request) (f store.ZoneFilter, page, perPage int, err error) {
	page, perPage, asc, err := paging(r, 20, 5, 50)
	if err != nil {
		return f, 0, 0, err
	}
	q := r.URL.Query()
	f.Desc = !asc && q.Get("direction") != ""
	if v := q.Get("name"); v != "" {
		if f.NameMatch, err = nameMatch("name", v); err != nil {
			return f, 0, 0, err
		}
		if f.NameMatch.Op == store.NameEqual || f.NameMatch.Op == store.NameNotEqual {
			f.NameMatch.Value = strings.TrimSuffix(f.NameMatch.Value, ".")
		}
	}
	if v := q.Get("account.name"); v != "" {
		if f.AccountName, err = nameMatch("account.name", v); err != nil {
			return f, 0, 0, err
		}
	}
	if f.Status = q.Get("status"); f.Status != "" && !slices.Contains(zoneStatuses, f.Status) {
		return f, 0, 0, errs.InvalidField("status", "status must be one of %s.", strings.Join(zoneStatuses, ", "))
	}
	switch m := q.Get("match"); m {
	case "", "all":
	case "any":
		f.MatchAny = true
	default:
		return f, 0, 0, errs.InvalidField("match", "match must be any or all.")
	}
	if f.Order = q.Get("order"); f.Order != "" && !slices.Contains(store.ZoneOrders, f.Order) {
		return f, 0, 0, errs.InvalidField("order", "order must be one of %s.", strings.Join(store.ZoneOrders, ", "))
	}
	f.Offset, f.Limit = (page-1)*perPage, perPage
	return f, page, perPage, nil
}

// handleZoneList lists the zones the token may read. Visibility (the token's and its owner's
// grants, compiled once into SQL conditions), filters, order and the page are all applied by the
// database, so a page costs the same whatever the account holds, and encoded pages are cached
// for the same caller and query until a zone of one of the caller's accounts changes (see
// zones.Service.ListJSON). A token that holds Zone Read nowhere is told so (403) rather than
// given an empty list.
func (s *Server) handleZoneList(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	f, page, perPage, err := zoneListFilter(r)
	if err != nil {
		return err
	}
	grants, none := p.ZoneGrants(authz.ZoneRead)
	if none {
		return denial(10000, authz.ZoneRead, authz.ResourceSelector{Kind: authz.SelectAllZones}.String(),
			`the token holds "Zone Read" on no zone, so it cannot list zones`)
	}
	f.Grants = grants
	f.AccountIDs = p.Access.Accounts()
	if a := r.URL.Query().Get("account.id"); a != "" {
		if !p.Access.Member(a) {
			f.AccountIDs = nil
		} else {
			f.AccountIDs = []string{a}
		}
	}
	viewer, _ := p.CacheIdentity()
	enc, err := s.Zones.ListJSON(r.Context(), f, viewer, func(zs []store.Zone, names map[string]string) ([]byte, error) {
		b := make([]byte, 0, 1024*len(zs)+2)
		b = append(b, '[')
		for i := range zs {
			if i > 0 {
				b = append(b, ',')
			}
			zj := s.zoneJSON(r, &zs[i], names)
			b = zj.appendJSON(b)
		}
		return append(b, ']'), nil
	})
	if err != nil {
		return err
	}
	return writeResultJSON(w, newResultInfo(page, perPage, enc.Count, enc.TotalCount), func(b []byte) ([]byte, error) {
		return append(b, enc.Result...), nil
	})
}

// appendJSON appends z as the API's encoder writes a zoneJSON (json.Encoder, no HTML
// escaping; TestZoneAppendJSONMatchesEncoder holds them equal), without its reflection: the
// zones list writes up to 50 of them per page.
func (z *zoneJSON) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = jsonappend.Key(b, "id")
	b = jsonappend.StringNoHTML(b, z.ID)
	b = jsonappend.Key(b, "name")
	b = jsonappend.StringNoHTML(b, z.Name)
	b = jsonappend.Key(b, "status")
	b = jsonappend.StringNoHTML(b, z.Status)
	b = jsonappend.Key(b, "paused")
	b = jsonappend.Bool(b, z.Paused)
	b = jsonappend.Key(b, "type")
	b = jsonappend.StringNoHTML(b, z.Type)
	b = append(b, `,"account":`...)
	b = z.Account.appendJSON(b)
	b = jsonappend.Key(b, "permissions")
	b = appendStringsOrNull(b, z.Permissions)
	b = append(b, `,"plan":`...)
	b = z.Plan.appendJSON(b)
	b = jsonappend.Key(b, "name_servers")
	b = appendStringsOrNull(b, z.NameServers)
	b = jsonappend.Key(b, "created_on")
	b = jsonappend.Time(b, z.CreatedOn)
	b = jsonappend.Key(b, "modified_on")
	b = jsonappend.Time(b, z.ModifiedOn)
	b = jsonappend.Key(b, "activated_on")
	if z.ActivatedOn == nil {
		b = append(b, "null"...)
	} else {
		b = jsonappend.Time(b, *z.ActivatedOn)
	}
	b = jsonappend.Key(b, "development_mode")
	b = jsonappend.Int(b, int64(z.DevelopmentMode))
	m := z.Meta
	b = append(b, `,"meta":{"cdn_only":`...)
	b = jsonappend.Bool(b, m.CDNOnly)
	b = append(b, `,"custom_certificate_quota":`...)
	b = jsonappend.Int(b, int64(m.CustomCertificateQuota))
	b = append(b, `,"dns_only":`...)
	b = jsonappend.Bool(b, m.DNSOnly)
	b = append(b, `,"foundation_dns":`...)
	b = jsonappend.Bool(b, m.FoundationDNS)
	b = append(b, `,"page_rule_quota":`...)
	b = jsonappend.Int(b, int64(m.PageRuleQuota))
	b = append(b, `,"phishing_detected":`...)
	b = jsonappend.Bool(b, m.PhishingDetected)
	b = append(b, `,"step":`...)
	b = jsonappend.Int(b, int64(m.Step))
	b = append(b, '}')
	b = jsonappend.Key(b, "original_name_servers")
	b = appendStringsOrNull(b, z.OriginalNameServers)
	b = jsonappend.Key(b, "original_registrar")
	b = appendStringPtr(b, z.OriginalRegistrar)
	b = jsonappend.Key(b, "original_dnshost")
	b = appendStringPtr(b, z.OriginalDNSHost)
	b = append(b, `,"owner":{"id":`...)
	b = jsonappend.StringNoHTML(b, z.Owner.ID)
	b = append(b, `,"name":`...)
	b = jsonappend.StringNoHTML(b, z.Owner.Name)
	b = append(b, `,"type":`...)
	b = jsonappend.StringNoHTML(b, z.Owner.Type)
	return append(b, '}', '}')
}

// appendJSON appends n as {"id":…,"name":…}.
func (n idName) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = jsonappend.StringNoHTML(b, n.ID)
	b = append(b, `,"name":`...)
	b = jsonappend.StringNoHTML(b, n.Name)
	return append(b, '}')
}

// appendStringsOrNull appends ss as encoding/json does: null for a nil slice, else an array.
func appendStringsOrNull(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	return jsonappend.StringsNoHTML(b, ss)
}

// appendStringPtr appends *p, or null for nil.
func appendStringPtr(b []byte, p *string) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return jsonappend.StringNoHTML(b, *p)
}

// accountNames returns the names of the accounts of zs by account id (from the accounts
// service's cache when the server follows the change feed).
func (s *Server) accountNames(r *http.Request, zs []*store.Zone) (map[string]string, error) {
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.AccountID
	}
	return s.Accounts.Names(r.Context(), ids...)
}

func (s *Server) handleZoneGet(w http.ResponseWriter, r *http.Request) error {
	z := TargetFrom(r.Context()).Zone
	names, err := s.accountNames(r, []*store.Zone{z})
	if err != nil {
		return err
	}
	writeResult(w, s.zoneJSON(r, z, names), nil)
	return nil
}

// activationCheckJSON is the result of PUT /zones/{zone_id}/activation_check: Cloudflare's {id},
// and, as Latchkey's extension (the check is answered at once rather than queued), the zone's
// status afterwards and what the check found.
type activationCheckJSON struct {
	ID               string   `json:"id"`
	Status           string   `json:"status"`
	Delegation       string   `json:"delegation"`
	NameServers      []string `json:"name_servers"`
	FoundNameServers []string `json:"found_name_servers"`
	Message          string   `json:"message,omitempty"`
}

// handleZoneActivationCheck runs the zone's activation check now (Cloudflare's
// PUT /zones/{zone_id}/activation_check, which needs Zone Write): a pending zone whose delegation
// points at our name servers becomes active.
func (s *Server) handleZoneActivationCheck(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	z, d, err := s.Zones.CheckActivation(r.Context(), s.actor(r), t.Zone.AccountID, t.Zone.ID, s.LookupNS, s.NameServers)
	if err != nil {
		return err
	}
	writeResult(w, activationCheckJSON{ID: z.ID, Status: z.Status, Delegation: d.Status, NameServers: d.Expected,
		FoundNameServers: d.Found, Message: d.Problem}, nil)
	return nil
}
