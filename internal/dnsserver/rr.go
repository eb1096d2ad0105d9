package dnsserver

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/store"
)

// toRR turns a stored record into its wire form. The owner name is lower-case and fully
// qualified; TTL 1 ("automatic") becomes DefaultTTL.
func toRR(r *store.DNSRecord) (dns.RR, error) {
	ttl := uint32(r.TTL)
	if r.TTL <= 1 {
		ttl = DefaultTTL
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: dns.Fqdn(strings.ToLower(r.Name)), Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	if _, ok := dns.IsDomainName(hdr(0).Name); !ok {
		return nil, fmt.Errorf("bad owner name %q", r.Name)
	}
	content := strings.TrimSpace(r.Content)
	prio := 0
	if r.Priority != nil {
		prio = *r.Priority
	}
	switch strings.ToUpper(r.Type) {
	case "A", "AAAA":
		a, err := netip.ParseAddr(content)
		if err != nil {
			return nil, fmt.Errorf("bad address %q", content)
		}
		a = a.Unmap()
		if strings.EqualFold(r.Type, "A") {
			if !a.Is4() {
				return nil, fmt.Errorf("%q is not an IPv4 address", content)
			}
			return &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(a.AsSlice())}, nil
		}
		if !a.Is6() {
			return nil, fmt.Errorf("%q is not an IPv6 address", content)
		}
		return &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(a.AsSlice())}, nil
	case "CNAME":
		t, err := host(content)
		if err != nil {
			return nil, err
		}
		return &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: t}, nil
	case "NS":
		t, err := host(content)
		if err != nil {
			return nil, err
		}
		return &dns.NS{Hdr: hdr(dns.TypeNS), Ns: t}, nil
	case "MX":
		t, err := host(content)
		if err != nil {
			return nil, err
		}
		return &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(prio), Mx: t}, nil
	case "TXT":
		return &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: TXTStrings(r.Content)}, nil
	case "SRV":
		f := strings.Fields(content)
		if len(f) == 4 { // "priority weight port target"
			if n, err := strconv.Atoi(f[0]); err == nil && r.Priority == nil {
				prio = n
			}
			f = f[1:]
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad SRV content %q", content)
		}
		w, err1 := strconv.ParseUint(f[0], 10, 16)
		p, err2 := strconv.ParseUint(f[1], 10, 16)
		t, err3 := host(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("bad SRV content %q", content)
		}
		return &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: uint16(prio), Weight: uint16(w), Port: uint16(p), Target: t}, nil
	case "CAA":
		flags, tag, value, err := caaParts(r)
		if err != nil {
			return nil, err
		}
		return &dns.CAA{Hdr: hdr(dns.TypeCAA), Flag: flags, Tag: tag, Value: value}, nil
	}
	return nil, fmt.Errorf("unsupported type %q", r.Type)
}

// host turns a stored target host into a fully qualified name; "." stays the root.
func host(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "." {
		return ".", nil
	}
	f := dns.Fqdn(s)
	if _, ok := dns.IsDomainName(f); !ok || s == "" {
		return "", fmt.Errorf("bad host name %q", s)
	}
	return f, nil
}

// caaParts reads a CAA record's flags, tag and value from its data, or else from its content
// (`flags tag "value"`).
func caaParts(r *store.DNSRecord) (uint8, string, string, error) {
	if r.Data != nil && *r.Data != "" {
		var d struct {
			Flags *int   `json:"flags"`
			Tag   string `json:"tag"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal([]byte(*r.Data), &d); err == nil && d.Tag != "" {
			f := 0
			if d.Flags != nil {
				f = *d.Flags
			}
			return uint8(f), d.Tag, d.Value, nil
		}
	}
	f := strings.SplitN(strings.TrimSpace(r.Content), " ", 3)
	if len(f) != 3 {
		return 0, "", "", fmt.Errorf("bad CAA content %q", r.Content)
	}
	n, err := strconv.ParseUint(f[0], 10, 8)
	if err != nil {
		return 0, "", "", fmt.Errorf("bad CAA flags %q", f[0])
	}
	v := strings.TrimSpace(f[2])
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
	}
	return uint8(n), f[1], v, nil
}

// TXTStrings splits a TXT record's stored content into the RFC 1035 character strings served,
// in the escaped form miekg/dns packs. Content that is a sequence of quoted strings ("part one"
// "part two", with \" and \\ escapes) keeps its parts; any other content is one text. Every part
// longer than 255 bytes is split into 255-byte strings.
func TXTStrings(content string) []string {
	parts, ok := quotedParts(content)
	if !ok {
		parts = []string{content}
	}
	var out []string
	for _, p := range parts {
		for len(p) > 255 {
			out = append(out, escapeTXT(p[:255]))
			p = p[255:]
		}
		out = append(out, escapeTXT(p))
	}
	return out
}

// quotedParts parses s as one or more quoted strings separated by white space.
func quotedParts(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '"' {
		return nil, false
	}
	var parts []string
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		if s[i] != '"' {
			return nil, false
		}
		i++
		var b strings.Builder
		closed := false
		for i < len(s) {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				// \DDD is a byte in decimal (RFC 1035 §5.1), as the API's TXT parser reads it.
				if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
					if n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); n < 256 {
						b.WriteByte(byte(n))
						i += 4
						continue
					}
				}
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			i++
			if c == '"' {
				closed = true
				break
			}
			b.WriteByte(c)
		}
		if !closed {
			return nil, false
		}
		parts = append(parts, b.String())
	}
	return parts, len(parts) > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// escapeTXT escapes the bytes miekg/dns would otherwise read as escapes.
func escapeTXT(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
