package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// dnsTTLs are the TTL choices of the add-record form, in seconds (1 is automatic).
var dnsTTLs = []int{1, 60, 120, 300, 600, 1800, 3600, 7200, 18000, 43200, 86400}

// handleDNSList shows a page of a zone's records, filtered by type and search text.
func (s *server) handleDNSList(w http.ResponseWriter, r *http.Request) error {
	f := web.Form{Values: map[string]string{"type": dns.TypeA, "ttl": "1"}, Errors: map[string]string{}}
	return s.renderDNS(w, r, http.StatusOK, f)
}

// renderDNS renders the DNS page of the zone in the path with the add form f.
func (s *server) renderDNS(w http.ResponseWriter, r *http.Request, status int, f web.Form) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSRead, "The DNS records")
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "dns")
	if err != nil {
		return err
	}
	canWrite, err := s.can(r, p, authz.DNSWrite, authz.Zone(z.AccountID, z.ID))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	typ := strings.ToUpper(q.Get("type"))
	if !slices.Contains(dns.Types, typ) {
		typ = ""
	}
	search := strings.TrimSpace(q.Get("search"))
	page := pageParam(r)
	o := dns.ListOptions{Search: search, Order: "type", Page: page, PerPage: listPerPage}
	if typ != "" {
		o.Conds = []store.DNSCond{{Field: "type", Op: store.DNSOpIn, Values: []string{typ}}}
	}
	res, err := s.DNS.List(r.Context(), p.Account.ID, z.ID, o)
	if err != nil {
		return err
	}
	v := web.DNSView{Zone: hdr, CanWrite: canWrite, Form: f, Search: search, Filtered: typ != "" || search != "",
		Pagination: web.Pagination{Page: page, PerPage: listPerPage, Total: int64(res.TotalCount)}}
	v.Types = append(v.Types, web.Option{Value: "", Label: "All types", Selected: typ == ""})
	for _, t := range dns.Types {
		v.Types = append(v.Types, web.Option{Value: t, Label: t, Selected: t == typ})
		v.TypeOptions = append(v.TypeOptions, web.Option{Value: t, Label: t, Selected: t == f.Value("type")})
	}
	for _, ttl := range dnsTTLs {
		v.TTLs = append(v.TTLs, web.Option{Value: strconv.Itoa(ttl), Label: web.TTLLabel(ttl), Selected: strconv.Itoa(ttl) == f.Value("ttl")})
	}
	pageURL := func(n int) string {
		u := url.Values{}
		if typ != "" {
			u.Set("type", typ)
		}
		if search != "" {
			u.Set("search", search)
		}
		u.Set("page", strconv.Itoa(n))
		return hdr.DNSURL() + "?" + u.Encode()
	}
	if page > 1 {
		v.Pagination.PrevURL = pageURL(page - 1)
	}
	if page*listPerPage < res.TotalCount {
		v.Pagination.NextURL = pageURL(page + 1)
	}
	for _, rec := range res.Records {
		v.Records = append(v.Records, recordView(rec))
	}
	return s.render(w, r, status, web.DNSRecords(s.page(w, r, "DNS · "+z.Name, "zones"), v))
}

func recordView(r *dns.Record) web.DNSRecord {
	return web.DNSRecord{ID: r.ID, Type: r.Type, Name: r.Name, Content: r.Content, TTL: r.TTL, Proxied: r.Proxied,
		Proxiable: r.Proxiable(), Priority: r.Priority, Comment: r.Comment}
}

var dnsFields = []string{"type", "name", "content", "ttl", "priority", "proxied", "comment"}

// handleDNSCreate adds a record. Bad input comes back beside its field with the input kept.
func (s *server) handleDNSCreate(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, dnsFields...)
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSWrite, "Changing the DNS records")
	if err != nil {
		return err
	}
	params, ok := dnsParams(&f)
	if ok {
		var rec *dns.Record
		rec, err = s.DNS.Create(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, params, nil)
		if err == nil {
			s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Added the %s record %s.", rec.Type, rec.Name))
			redirect(w, r, "/zones/"+z.ID+"/dns")
			return nil
		}
		if !fieldError(&f, err, dnsFields...) {
			return err
		}
	}
	return s.renderDNS(w, r, http.StatusUnprocessableEntity, f)
}

// dnsParams reads the add form into record parameters; numbers that do not parse are reported
// beside their fields.
func dnsParams(f *web.Form) (dns.Params, bool) {
	str := func(name string) *string { v := strings.TrimSpace(f.Value(name)); return &v }
	p := dns.Params{Type: str("type"), Name: str("name"), Content: str("content"), Comment: str("comment")}
	proxied := f.Value("proxied") != ""
	p.Proxied = &proxied
	if ttl := strings.TrimSpace(f.Value("ttl")); ttl != "" {
		n, err := strconv.Atoi(ttl)
		if err != nil {
			f.Errors["ttl"] = "Choose a TTL from the list."
		}
		p.TTL = &n
	}
	if pr := strings.TrimSpace(f.Value("priority")); pr != "" {
		n, err := strconv.Atoi(pr)
		if err != nil {
			f.Errors["priority"] = "The priority is a whole number from 0 to 65535."
		}
		p.Priority = &n
	}
	return p, len(f.Errors) == 0
}
