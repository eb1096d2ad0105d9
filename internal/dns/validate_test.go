package dns

import (
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

func TestNormalizeName(t *testing.T) {
	const zone = "example.com"
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "@", want: "example.com"},
		{in: "_acme-challenge", want: "_acme-challenge.example.com"},
		{in: "WWW", want: "www.example.com"},
		{in: "www.example.com", want: "www.example.com"},
		{in: "www.example.com.", want: "www.example.com"},
		{in: "example.com.", want: "example.com"},
		{in: "example.com", want: "example.com"},
		{in: "_acme-challenge.www.example.com.", want: "_acme-challenge.www.example.com"},
		{in: "*", want: "*.example.com"},
		{in: "*.dev", want: "*.dev.example.com"},
		{in: "www.other.org", want: "www.other.org.example.com"}, // no trailing dot: relative, as Cloudflare reads it
		{in: "www.other.org.", bad: true},                        // absolute and outside the zone
		{in: "notexample.com.", bad: true},
		{in: "", bad: true},
		{in: "  ", bad: true},
		{in: "a..b", bad: true},
		{in: "a*b", bad: true},
		{in: "x.*", bad: true},
		{in: "bad name", bad: true},
		{in: "bücher", bad: true},
		{in: strings.Repeat("a", 64), bad: true},
		{in: strings.Repeat("abcdefghi.", 25) + "x", bad: true}, // > 253 characters
	}
	for _, tt := range tests {
		got, err := NormalizeName(zone, tt.in)
		if tt.bad {
			if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != "name" {
				t.Errorf("NormalizeName(%q) = %q, %v; want an Invalid error on name", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func sp(s string) *string { return &s }
func ip(n int) *int       { return &n }
func bp(b bool) *bool     { return &b }

func TestValidate(t *testing.T) {
	const zone = "example.com"
	tests := []struct {
		name    string
		p       Params
		field   string // expected error field; "" means valid
		content string // expected stored content when valid
		prio    *int
	}{
		{"A", Params{Type: sp("a"), Name: sp("www"), Content: sp("192.0.2.1")}, "", "192.0.2.1", nil},
		{"A rejects IPv6", Params{Type: sp("A"), Name: sp("www"), Content: sp("2001:db8::1")}, "content", "", nil},
		{"A rejects garbage", Params{Type: sp("A"), Name: sp("www"), Content: sp("300.1.1.1")}, "content", "", nil},
		{"A rejects empty", Params{Type: sp("A"), Name: sp("www")}, "content", "", nil},
		{"A rejects zone id", Params{Type: sp("AAAA"), Name: sp("www"), Content: sp("fe80::1%eth0")}, "content", "", nil},
		{"AAAA canonical", Params{Type: sp("AAAA"), Name: sp("@"), Content: sp("2001:DB8:0:0::1")}, "", "2001:db8::1", nil},
		{"AAAA rejects IPv4", Params{Type: sp("AAAA"), Name: sp("@"), Content: sp("192.0.2.1")}, "content", "", nil},
		{"CNAME", Params{Type: sp("CNAME"), Name: sp("blog"), Content: sp("Hosting.Example.NET.")}, "", "hosting.example.net", nil},
		{"CNAME to itself", Params{Type: sp("CNAME"), Name: sp("blog"), Content: sp("blog.example.com")}, "content", "", nil},
		{"CNAME bad host", Params{Type: sp("CNAME"), Name: sp("blog"), Content: sp("not a host")}, "content", "", nil},
		{"CNAME single label", Params{Type: sp("CNAME"), Name: sp("blog"), Content: sp("localhost")}, "content", "", nil},
		{"NS", Params{Type: sp("NS"), Name: sp("sub"), Content: sp("ns1.example.org")}, "", "ns1.example.org", nil},
		{"MX", Params{Type: sp("MX"), Name: sp("@"), Content: sp("mail.example.com"), Priority: ip(10)}, "", "mail.example.com", ip(10)},
		{"MX null", Params{Type: sp("MX"), Name: sp("@"), Content: sp("."), Priority: ip(0)}, "", ".", ip(0)},
		{"MX without priority", Params{Type: sp("MX"), Name: sp("@"), Content: sp("mail.example.com")}, "priority", "", nil},
		{"MX priority too big", Params{Type: sp("MX"), Name: sp("@"), Content: sp("mail.example.com"), Priority: ip(65536)}, "priority", "", nil},
		{"MX priority negative", Params{Type: sp("MX"), Name: sp("@"), Content: sp("mail.example.com"), Priority: ip(-1)}, "priority", "", nil},
		{"TXT unquoted", Params{Type: sp("TXT"), Name: sp("_acme-challenge"), Content: sp("abc")}, "", "abc", nil},
		{"TXT quoted, kept as sent", Params{Type: sp("TXT"), Name: sp("_acme-challenge"), Content: sp(`"abc"`)}, "", `"abc"`, nil},
		{"TXT split", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(`"v=spf1 " "-all"`)}, "", `"v=spf1 " "-all"`, nil},
		{"TXT escapes", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(`"say \"hi\" \\ \065"`)}, "", `"say \"hi\" \\ \065"`, nil},
		{"TXT unbalanced quote kept", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(`"abc`)}, "", `"abc`, nil},
		{"TXT max", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(strings.Repeat("x", 2048))}, "", strings.Repeat("x", 2048), nil},
		{"TXT too long", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(strings.Repeat("x", 2049))}, "content", "", nil},
		{"TXT empty", Params{Type: sp("TXT"), Name: sp("@"), Content: sp(`""`)}, "content", "", nil},
		{"TXT control", Params{Type: sp("TXT"), Name: sp("@"), Content: sp("a\nb")}, "content", "", nil},
		{"SRV data", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Data: &Data{Priority: ip(10), Weight: ip(5), Port: ip(5060), Target: "SIP.example.com."}}, "", "5 5060 sip.example.com", ip(10)},
		{"SRV old data form", Params{Type: sp("SRV"), Data: &Data{Service: "_sip", Proto: "_udp", Name: "@", Priority: ip(1), Weight: ip(2), Port: ip(3), Target: "sip.example.com"}}, "", "2 3 sip.example.com", ip(1)},
		{"SRV content 4", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Content: sp("10 5 5060 sip.example.com")}, "", "5 5060 sip.example.com", ip(10)},
		{"SRV content 3", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Content: sp("5 5060 sip.example.com"), Priority: ip(7)}, "", "5 5060 sip.example.com", ip(7)},
		{"SRV content 3 no priority", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Content: sp("5 5060 sip.example.com")}, "data.priority", "", nil},
		{"SRV bad name", Params{Type: sp("SRV"), Name: sp("sip"), Content: sp("10 5 5060 sip.example.com")}, "name", "", nil},
		{"SRV port too big", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Data: &Data{Priority: ip(1), Weight: ip(1), Port: ip(70000), Target: "sip.example.com"}}, "data.port", "", nil},
		{"SRV missing weight", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Data: &Data{Priority: ip(1), Port: ip(1), Target: "sip.example.com"}}, "data.weight", "", nil},
		{"SRV bad target", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Data: &Data{Priority: ip(1), Weight: ip(1), Port: ip(1), Target: "x y"}}, "data.target", "", nil},
		{"SRV garbage content", Params{Type: sp("SRV"), Name: sp("_sip._tcp"), Content: sp("a b c")}, "content", "", nil},
		{"CAA data", Params{Type: sp("CAA"), Name: sp("@"), Data: &Data{Flags: ip(0), Tag: "issue", Value: "letsencrypt.org"}}, "", `0 issue "letsencrypt.org"`, nil},
		{"CAA content", Params{Type: sp("CAA"), Name: sp("@"), Content: sp(`128 issuewild "pki.example.net"`)}, "", `128 issuewild "pki.example.net"`, nil},
		{"CAA content unquoted", Params{Type: sp("CAA"), Name: sp("@"), Content: sp(`0 issue letsencrypt.org`)}, "", `0 issue "letsencrypt.org"`, nil},
		{"CAA bad tag", Params{Type: sp("CAA"), Name: sp("@"), Data: &Data{Tag: "bogus", Value: "x"}}, "data.tag", "", nil},
		{"CAA bad flags", Params{Type: sp("CAA"), Name: sp("@"), Data: &Data{Flags: ip(256), Tag: "issue", Value: "x"}}, "data.flags", "", nil},
		{"CAA no value", Params{Type: sp("CAA"), Name: sp("@"), Data: &Data{Tag: "issue"}}, "data.value", "", nil},
		{"CAA iodef", Params{Type: sp("CAA"), Name: sp("@"), Data: &Data{Tag: "iodef", Value: "ftp://x"}}, "data.value", "", nil},
		{"CAA garbage", Params{Type: sp("CAA"), Name: sp("@"), Content: sp("issue")}, "content", "", nil},
		{"unknown type", Params{Type: sp("LOC"), Name: sp("@"), Content: sp("x")}, "type", "", nil},
		{"no type", Params{Name: sp("@"), Content: sp("x")}, "type", "", nil},
		{"bad name", Params{Type: sp("A"), Name: sp("a b"), Content: sp("192.0.2.1")}, "name", "", nil},
		{"name outside zone", Params{Type: sp("A"), Name: sp("www.example.org."), Content: sp("192.0.2.1")}, "name", "", nil},
		{"TTL auto", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(1)}, "", "192.0.2.1", nil},
		{"TTL min", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(60)}, "", "192.0.2.1", nil},
		{"TTL max", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(86400)}, "", "192.0.2.1", nil},
		{"TTL too small", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(59)}, "ttl", "", nil},
		{"TTL too big", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(86401)}, "ttl", "", nil},
		{"TTL negative", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), TTL: ip(-5)}, "ttl", "", nil},
		{"proxied CNAME", Params{Type: sp("CNAME"), Name: sp("w"), Content: sp("x.example.net"), Proxied: bp(true)}, "", "x.example.net", nil},
		{"proxied TXT", Params{Type: sp("TXT"), Name: sp("w"), Content: sp("x"), Proxied: bp(true)}, "proxied", "", nil},
		{"proxied MX", Params{Type: sp("MX"), Name: sp("w"), Content: sp("x.example.net"), Priority: ip(1), Proxied: bp(true)}, "proxied", "", nil},
		{"comment max", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Comment: sp(strings.Repeat("é", 100))}, "", "192.0.2.1", nil},
		{"comment too long", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Comment: sp(strings.Repeat("x", 101))}, "comment", "", nil},
		{"tags", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Tags: &[]string{"team:web", "env:"}}, "", "192.0.2.1", nil},
		{"tag without colon", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Tags: &[]string{"team"}}, "tags", "", nil},
		{"tag empty name", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Tags: &[]string{":x"}}, "tags", "", nil},
		{"tag repeated", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Tags: &[]string{"a:1", "a:2"}}, "tags", "", nil},
		{"too many tags", Params{Type: sp("A"), Name: sp("w"), Content: sp("192.0.2.1"), Tags: func() *[]string {
			var l []string
			for i := range 21 {
				l = append(l, "t"+strings.Repeat("x", i)+":v")
			}
			return &l
		}()}, "tags", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := validate(zone, tt.p)
			if tt.field != "" {
				e := errs.As(err)
				if e == nil || e.Code != errs.Invalid || e.Field != tt.field || e.Message == "" {
					t.Fatalf("validate = %+v, %v; want Invalid on %q", v, err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if v.Content != tt.content {
				t.Errorf("content = %q, want %q", v.Content, tt.content)
			}
			if (v.Priority == nil) != (tt.prio == nil) || (v.Priority != nil && *v.Priority != *tt.prio) {
				t.Errorf("priority = %v, want %v", v.Priority, tt.prio)
			}
		})
	}
}

func TestQuoteTXTRoundTrip(t *testing.T) {
	for _, text := range []string{"abc", `with "quotes" and \ backslash`, strings.Repeat("é", 300), strings.Repeat("x", 600)} {
		q := QuoteTXT(text)
		if got := parseTXT(q); got != text {
			t.Errorf("parseTXT(QuoteTXT(%.20q…)) = %.20q…", text, got)
		}
		for _, chunk := range strings.Split(q, `" "`) {
			if n := len(strings.Trim(chunk, `"`)); n > 255+strings.Count(chunk, `\`) {
				t.Errorf("chunk of %d bytes in %.30q…", n, q)
			}
		}
	}
	if got := QuoteTXT(strings.Repeat("x", 256)); got != `"`+strings.Repeat("x", 255)+`" "x"` {
		t.Errorf("QuoteTXT(256 x) = %q", got)
	}
}

func TestDecodeParams(t *testing.T) {
	p, err := DecodeParams([]byte(`{"type":"MX","name":"@","content":"mail.example.com","ttl":120,"proxied":false,"priority":10,
		"comment":null,"tags":null,"settings":{},"created_on":"0001-01-01T00:00:00Z","data":{"priority":1,"target":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if *p.Type != "MX" || *p.TTL != 120 || *p.Priority != 10 || p.Comment != nil || p.Tags != nil || *p.Data.Priority != 1 || p.Data.Target != "x" {
		t.Errorf("DecodeParams = %+v", p)
	}
	bad := []struct{ body, field string }{
		{``, ""},
		{`{`, ""},
		{`[]`, ""},
		{`"x"`, ""},
		{`{"type":1}`, "type"},
		{`{"ttl":"120"}`, "ttl"},
		{`{"ttl":1.5}`, "ttl"},
		{`{"proxied":"yes"}`, "proxied"},
		{`{"priority":"10"}`, "priority"},
		{`{"tags":"a:b"}`, "tags"},
		{`{"tags":[1]}`, "tags"},
		{`{"comment":5}`, "comment"},
		{`{"data":"x"}`, "data"},
		{`{"data":{"port":"80"}}`, "data.port"},
		{`{"data":{"target":5}}`, "data.target"},
	}
	for _, b := range bad {
		_, err := DecodeParams([]byte(b.body))
		if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != b.field {
			t.Errorf("DecodeParams(%s) = %v; want Invalid on %q", b.body, err, b.field)
		}
	}
}

func TestParseListQuery(t *testing.T) {
	q, _ := url.ParseQuery("type=txt&name.startswith=_acme&content.contains=abc&proxied=false&tag=a:1&tag=b&tag.absent=c" +
		"&tag-match=any&match=all&search=x&order=ttl&direction=desc&page=3&per_page=5000&unknown=1&comment.present=")
	o, err := ParseListQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Conds) != 5 || len(o.TagConds) != 3 || !o.TagMatchAny || o.MatchAny || o.Search != "x" || o.Order != "ttl" || !o.Desc || o.Page != 3 || o.PerPage != 5000 {
		t.Errorf("ParseListQuery = %+v", o)
	}
	for _, c := range o.Conds {
		if c.Field == "type" && (c.Op != store.DNSOpIn || c.Values[0] != "TXT") {
			t.Errorf("type cond = %+v", c)
		}
	}
	// A page size outside 1..MaxPerPage is clamped into it, never refused.
	for in, want := range map[string]int{"per_page=5001": MaxPerPage, "per_page=0": 1, "per_page=-7": 1, "per_page=1": 1, "per_page=77": 77} {
		q, _ := url.ParseQuery(in)
		if o, err := ParseListQuery(q); err != nil || o.PerPage != want {
			t.Errorf("ParseListQuery(%s) = per_page %d, %v; want %d", in, o.PerPage, err, want)
		}
	}
	for _, bad := range []string{"per_page=x", "page=0", "order=id", "direction=up",
		"match=some", "tag-match=x", "proxied=maybe", "name.regex=x", "tag=", "tag.exact=noval", "tag.weird=a:b"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseListQuery(q); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseListQuery(%s) = %v; want Invalid", bad, err)
		}
	}
}
