package dns

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Limits of a zone file import.
const (
	// MaxImportBytes bounds the size of an uploaded zone file.
	MaxImportBytes = 1 << 20
	// MaxImportRecords bounds how many records one import may parse.
	MaxImportRecords = 3500
)

// ImportResult is the result of an import in Cloudflare's shape.
type ImportResult struct {
	// RecsAdded counts the records created.
	RecsAdded int `json:"recs_added"`
	// TotalRecordsParsed counts the records read from the file, including those skipped: the
	// SOA and apex NS records (which the zone's own configuration provides) and records
	// identical to one the zone already has.
	TotalRecordsParsed int `json:"total_records_parsed"`
}

// Export returns the records of the zone zoneID of accountID as a BIND zone file, in the form
// Cloudflare exports: one line per record, TTL 1 meaning automatic, and a comment with the
// record's comment and its cf_tags (cf-proxied:true for proxied records, and its tags). scopes
// limit the records as in ListOptions.Scopes.
func (s *Service) Export(ctx context.Context, accountID, zoneID string, scopes []authz.RecordFilter) (string, error) {
	if !store.ValidID(zoneID) {
		return "", zoneNotFound()
	}
	z, err := store.ZoneByID(s.db.Gorm(ctx), accountID, zoneID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, ";;\n;; Domain:     %s.\n;; Exported:   %s\n;;\n;; This file is a BIND zone file exported by Latchkey.\n;; TTL 1 means automatic.\n;;\n$ORIGIN %s.\n\n",
		z.Name, time.Now().UTC().Format("2006-01-02 15:04:05"), z.Name)
	for page := 1; ; page++ {
		pg, err := s.List(ctx, accountID, zoneID, ListOptions{Page: page, PerPage: MaxPerPage, Order: "type", Scopes: scopes})
		if err != nil {
			return "", err
		}
		for _, r := range pg.Records {
			b.WriteString(zoneLine(r))
			b.WriteByte('\n')
		}
		if page >= pg.TotalPages {
			break
		}
	}
	return b.String(), nil
}

// zoneLine renders one record as a zone file line.
func zoneLine(r *Record) string {
	rdata := r.Content
	switch r.Type {
	case TypeCNAME, TypeNS:
		rdata = fqdn(r.Content)
	case TypeMX:
		rdata = strconv.Itoa(deref(r.Priority)) + " " + fqdn(r.Content)
	case TypeSRV:
		// Content is "weight port target"; the priority is its own field.
		f := strings.Fields(r.Content)
		if len(f) == 3 {
			f[2] = fqdn(f[2])
		}
		rdata = strconv.Itoa(deref(r.Priority)) + " " + strings.Join(f, " ")
	case TypeTXT:
		if !strings.HasPrefix(strings.TrimSpace(r.Content), `"`) {
			rdata = QuoteTXT(r.Content)
		}
	}
	line := fmt.Sprintf("%s.\t%d\tIN\t%s\t%s", r.Name, r.TTL, r.Type, rdata)
	if rr, err := mdns.NewRR(line); err == nil && rr != nil {
		line = rr.String()
	}
	var tags []string
	if r.Proxied {
		tags = append(tags, "cf-proxied:true")
	} else if r.Proxiable() {
		tags = append(tags, "cf-proxied:false")
	}
	tags = append(tags, r.Tags...)
	comment := strings.Join(strings.Fields(r.Comment), " ")
	if comment != "" || len(tags) > 0 {
		line += " ;"
		if comment != "" {
			line += " " + comment
		}
		if len(tags) > 0 {
			line += " cf_tags=" + strings.Join(tags, ",")
		}
	}
	return line
}

func fqdn(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// ParseZoneFile reads a BIND zone file for the zone named zone into records to create. proxied
// is the default for proxiable records (the import form's "proxied" field); a record's own
// cf_tags=cf-proxied:… comment overrides it. The SOA and NS records at the apex are skipped
// (the zone's configuration provides them) but counted in parsed. A record of a type Latchkey
// does not serve, a record outside the zone, and a line that does not parse are Invalid errors
// naming the line.
func ParseZoneFile(zone string, data []byte, proxied bool) (ps []Params, parsed int, err error) {
	zp := mdns.NewZoneParser(strings.NewReader(string(data)), zone+".", "")
	zp.SetIncludeAllowed(false)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		parsed++
		if parsed > MaxImportRecords {
			return nil, parsed, errs.InvalidField("file", "A zone file may hold at most %d records.", MaxImportRecords)
		}
		h := rr.Header()
		name := strings.ToLower(strings.TrimSuffix(h.Name, "."))
		typ := mdns.TypeToString[h.Rrtype]
		if typ == "SOA" || (typ == TypeNS && name == zone) {
			continue
		}
		p, err := paramsOf(rr, typ, h)
		if err != nil {
			return nil, parsed, errs.InvalidField("file", "record %d (%s %s): %s", parsed, typ, name, errs.MessageOf(err))
		}
		comment, tags, px := splitZoneComment(zp.Comment())
		if Proxiable(typ) {
			v := proxied
			if px != nil {
				v = *px
			}
			p.Proxied = &v
		}
		if comment != "" {
			p.Comment = &comment
		}
		if len(tags) > 0 {
			p.Tags = &tags
		}
		ps = append(ps, p)
	}
	if err := zp.Err(); err != nil {
		return nil, parsed, errs.InvalidField("file", "The zone file does not parse: %v", err)
	}
	return ps, parsed, nil
}

// paramsOf turns a parsed resource record into the Params that create it.
func paramsOf(rr mdns.RR, typ string, h *mdns.RR_Header) (Params, error) {
	name := h.Name
	ttl := int(h.Ttl)
	p := Params{Type: &typ, Name: &name, TTL: &ttl}
	rdata := strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	switch v := rr.(type) {
	case *mdns.A:
		p.Content = ptr(v.A.String())
	case *mdns.AAAA:
		p.Content = ptr(v.AAAA.String())
	case *mdns.CNAME:
		p.Content = ptr(strings.TrimSuffix(v.Target, "."))
	case *mdns.NS:
		p.Content = ptr(strings.TrimSuffix(v.Ns, "."))
	case *mdns.MX:
		p.Content = ptr(strings.TrimSuffix(v.Mx, "."))
		p.Priority = ptr(int(v.Preference))
	case *mdns.TXT:
		p.Content = &rdata
	case *mdns.SRV:
		p.Data = &Data{Priority: ptr(int(v.Priority)), Weight: ptr(int(v.Weight)), Port: ptr(int(v.Port)),
			Target: strings.TrimSuffix(v.Target, ".")}
	case *mdns.CAA:
		p.Data = &Data{Flags: ptr(int(v.Flag)), Tag: v.Tag, Value: v.Value}
	default:
		return p, errs.E(errs.Invalid, "%s records are not supported; Latchkey serves %s.", typ, strings.Join(Types, ", "))
	}
	return p, nil
}

// splitZoneComment reads a record's comment as Cloudflare exports it: free text, then
// "cf_tags=" and a comma-separated list in which cf-proxied:true|false sets proxying and the
// other items are the record's tags.
func splitZoneComment(c string) (comment string, tags []string, proxied *bool) {
	c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), ";"))
	text, tagList, found := strings.Cut(c, "cf_tags=")
	comment = strings.TrimSpace(text)
	if !found {
		return comment, nil, nil
	}
	for _, t := range strings.Split(strings.TrimSpace(tagList), ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "":
		case "cf-proxied:true":
			proxied = ptr(true)
		case "cf-proxied:false":
			proxied = ptr(false)
		default:
			tags = append(tags, t)
		}
	}
	return comment, tags, proxied
}

// Import creates the records of a parsed zone file in the zone zoneID of accountID in one
// transaction. Each is validated and checked (check may be nil) as a single create is, and
// writes its audit entry; a record identical to one the zone already has is skipped. The first
// other failure rolls back the whole import, naming the record.
func (s *Service) Import(ctx context.Context, actor audit.Actor, accountID, zoneID string, ps []Params, parsed int, check Check) (*ImportResult, error) {
	if !store.ValidID(zoneID) {
		return nil, zoneNotFound()
	}
	res := &ImportResult{TotalRecordsParsed: parsed}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		z, err := store.LockZoneForWrite(tx, accountID, zoneID)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i, p := range ps {
			if _, err := s.createIn(tx, actor, z, p, check, now); err != nil {
				if e := errs.As(err); e != nil && (e.APICode == CodeIdenticalRecord || e.APICode == CodeAlreadyExists) {
					continue
				}
				return inFile(fmt.Sprintf("record %d (%s %s)", i+1, deref(p.Type), strings.TrimSuffix(deref(p.Name), ".")), err)
			}
			res.RecsAdded++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// inFile says which record of an imported file an error is about; the field is the form's
// "file" field.
func inFile(at string, err error) error {
	e := errs.As(err)
	if e == nil {
		return err
	}
	out := *e
	out.Field = "file"
	out.Message = at + ": " + out.Message
	return &out
}
