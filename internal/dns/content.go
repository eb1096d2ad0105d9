package dns

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/errs"
)

// The supported record types.
const (
	TypeA     = "A"
	TypeAAAA  = "AAAA"
	TypeCNAME = "CNAME"
	TypeTXT   = "TXT"
	TypeMX    = "MX"
	TypeNS    = "NS"
	TypeSRV   = "SRV"
	TypeCAA   = "CAA"
)

// Types lists the supported record types.
var Types = []string{TypeA, TypeAAAA, TypeCNAME, TypeTXT, TypeMX, TypeNS, TypeSRV, TypeCAA}

// Limits on record fields.
const (
	MaxTXTLength     = 2048 // characters of a TXT record's text (unquoted)
	MaxCommentLength = 100  // characters of a comment
	MaxTags          = 20   // tags per record
	MaxTagLength     = 100  // characters of one "name:value" tag
	MinTTL           = 60   // seconds; 1 means automatic
	MaxTTL           = 86400
)

// Proxiable reports whether records of type t can be proxied (A, AAAA and CNAME).
func Proxiable(t string) bool { return t == TypeA || t == TypeAAAA || t == TypeCNAME }

// hasPriority reports whether records of type t carry a priority.
func hasPriority(t string) bool { return t == TypeMX || t == TypeSRV }

// Data holds the components of SRV and CAA records, as Cloudflare's "data" object carries them.
// SRV uses Priority, Weight, Port and Target (and, in the older form, Service, Proto and Name,
// which make up the record's name); CAA uses Flags, Tag and Value.
type Data struct {
	Service  string `json:"service,omitempty"`
	Proto    string `json:"proto,omitempty"`
	Name     string `json:"name,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	Weight   *int   `json:"weight,omitempty"`
	Port     *int   `json:"port,omitempty"`
	Target   string `json:"target,omitempty"`
	Flags    *int   `json:"flags,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Value    string `json:"value,omitempty"`
}

// Params is a record as a client sends it, to create one or to change one. A nil field was not
// sent: Create and Put use defaults for it (TTL 1, not proxied, no comment, no tags), Patch keeps
// the record's current value.
type Params struct {
	Type     *string
	Name     *string
	Content  *string
	Data     *Data
	TTL      *int
	Proxied  *bool
	Priority *int
	Comment  *string
	Tags     *[]string
}

// valid is a record that passed validation, in its stored form.
type valid struct {
	Type    string
	Name    string
	Content string // stored form
	// identityContent, when set, stands for Content in identity: TXT content sent quoted or not
	// ("abc" and abc) is the same record.
	identityContent string
	Data            map[string]any
	TTL             int
	Proxied         bool
	Priority        *int
	Comment         string
	Tags            []tag
}

type tag struct{ Name, Value string }

// identity is the hash that identical records share: type, name, stored content and priority.
func (v *valid) identity() string {
	h := sha256.New()
	content := v.Content
	if v.identityContent != "" {
		content = v.identityContent
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", v.Type, v.Name, content)
	if v.Priority != nil {
		fmt.Fprintf(h, "%d", *v.Priority)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// validate checks p as a complete record in the zone named zone and returns its stored form.
func validate(zone string, p Params) (*valid, error) {
	v := &valid{Type: strings.ToUpper(strings.TrimSpace(deref(p.Type)))}
	switch v.Type {
	case "":
		return nil, errs.InvalidField("type", "Enter the record type: one of %s.", strings.Join(Types, ", "))
	case TypeA, TypeAAAA, TypeCNAME, TypeTXT, TypeMX, TypeNS, TypeSRV, TypeCAA:
	default:
		return nil, errs.InvalidField("type", "The record type %q is not supported; use one of %s.", deref(p.Type), strings.Join(Types, ", "))
	}
	rawName := deref(p.Name)
	if v.Type == TypeSRV && p.Data != nil && p.Data.Service != "" && p.Data.Proto != "" {
		// The older SRV form names the record by its parts.
		base := p.Data.Name
		if base == "" {
			base = rawName
		}
		if base == "" {
			base = "@"
		}
		n, err := NormalizeName(zone, base)
		if err != nil {
			return nil, err
		}
		rawName = strings.TrimPrefix(p.Data.Service, "_") + "." + strings.TrimPrefix(p.Data.Proto, "_")
		rawName = "_" + strings.Replace(rawName, ".", "._", 1) + "." + n + "."
	}
	name, err := NormalizeName(zone, rawName)
	if err != nil {
		return nil, err
	}
	v.Name = name

	v.TTL = deref(p.TTL)
	if v.TTL == 0 {
		v.TTL = 1
	}
	if v.TTL != 1 && (v.TTL < MinTTL || v.TTL > MaxTTL) {
		return nil, errs.InvalidField("ttl", "The TTL must be 1 (automatic) or between %d and %d seconds; got %d.", MinTTL, MaxTTL, v.TTL)
	}
	v.Proxied = deref(p.Proxied)
	if v.Proxied && !Proxiable(v.Type) {
		return nil, errs.InvalidField("proxied", "Only A, AAAA and CNAME records can be proxied; a %s record cannot.", v.Type)
	}
	v.Comment = deref(p.Comment)
	if utf8.RuneCountInString(v.Comment) > MaxCommentLength {
		return nil, errs.InvalidField("comment", "A comment has at most %d characters.", MaxCommentLength)
	}
	if !utf8.ValidString(v.Comment) || strings.ContainsRune(v.Comment, 0) {
		return nil, errs.InvalidField("comment", "The comment is not valid UTF-8 without NUL characters.")
	}
	if v.Tags, err = parseTags(deref(p.Tags)); err != nil {
		return nil, err
	}
	if err := validateContent(v, p); err != nil {
		return nil, err
	}
	if v.Type == TypeCNAME && v.Content == v.Name {
		return nil, errs.InvalidField("content", "A CNAME record cannot point to its own name.")
	}
	return v, nil
}

// parseTags checks "name:value" tags and returns them sorted by name.
func parseTags(in []string) ([]tag, error) {
	if len(in) > MaxTags {
		return nil, errs.InvalidField("tags", "A record has at most %d tags.", MaxTags)
	}
	seen := map[string]bool{}
	out := make([]tag, 0, len(in))
	for _, t := range in {
		name, value, ok := strings.Cut(t, ":")
		name = strings.TrimSpace(name)
		switch {
		case !ok || name == "":
			return nil, errs.InvalidField("tags", "The tag %q is not of the form name:value.", t)
		case utf8.RuneCountInString(t) > MaxTagLength || !utf8.ValidString(t) || strings.ContainsRune(t, 0):
			return nil, errs.InvalidField("tags", "A tag is valid UTF-8 without NUL characters, of at most %d characters.", MaxTagLength)
		case strings.ContainsAny(name, " \t\r\n"):
			return nil, errs.InvalidField("tags", "The tag name %q contains white space.", name)
		case seen[name]:
			return nil, errs.InvalidField("tags", "The tag name %q appears more than once.", name)
		}
		seen[name] = true
		out = append(out, tag{Name: name, Value: value})
	}
	sortTags(out)
	return out, nil
}

func sortTags(ts []tag) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Name < ts[j-1].Name; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// validateContent checks the type-specific value of p and fills v.Content, v.Data and v.Priority.
func validateContent(v *valid, p Params) error {
	content := strings.TrimSpace(deref(p.Content))
	needContent := func(example string) error {
		if content == "" {
			return errs.InvalidField("content", "Enter the %s record's content, like %s.", v.Type, example)
		}
		return nil
	}
	switch v.Type {
	case TypeA, TypeAAAA:
		example := "192.0.2.1"
		if v.Type == TypeAAAA {
			example = "2001:db8::1"
		}
		if err := needContent(example); err != nil {
			return err
		}
		a, err := netip.ParseAddr(content)
		if err != nil || a.Zone() != "" || (v.Type == TypeA) != a.Is4() {
			kind := "IPv4"
			if v.Type == TypeAAAA {
				kind = "IPv6"
			}
			return errs.InvalidField("content", "An %s record holds an %s address, like %s; %q is not one.", v.Type, kind, example, content)
		}
		v.Content = a.String()
	case TypeCNAME, TypeNS:
		if err := needContent("host.example.com"); err != nil {
			return err
		}
		h, err := normalizeHost("content", content, false)
		if err != nil {
			return err
		}
		v.Content = h
	case TypeMX:
		if err := needContent("mail.example.com"); err != nil {
			return err
		}
		h, err := normalizeHost("content", content, true)
		if err != nil {
			return err
		}
		v.Content = h
		if p.Priority == nil {
			return errs.InvalidField("priority", "An MX record needs a priority between 0 and 65535.")
		}
		if *p.Priority < 0 || *p.Priority > 65535 {
			return errs.InvalidField("priority", "The priority must be between 0 and 65535; got %d.", *p.Priority)
		}
		v.Priority = p.Priority
	case TypeTXT:
		// TXT content is stored exactly as sent, quoted or not, as Cloudflare's API does (its
		// dashboard adds quotes, its API does not, and clients such as certbot's plugin and lego
		// find their record again by the content they sent). The checks apply to the text it
		// stands for; the DNS server serves that text (dnsserver.TXTStrings).
		raw := deref(p.Content)
		text := parseTXT(raw)
		if text == "" {
			return errs.InvalidField("content", "Enter the TXT record's text.")
		}
		if !utf8.ValidString(text) {
			return errs.InvalidField("content", "The TXT record's text is not valid UTF-8.")
		}
		if n := utf8.RuneCountInString(text); n > MaxTXTLength {
			return errs.InvalidField("content", "A TXT record holds at most %d characters; this one has %d.", MaxTXTLength, n)
		}
		for _, r := range text {
			if r < 0x20 || r == 0x7f {
				return errs.InvalidField("content", "The TXT record's text contains a control character.")
			}
		}
		v.Content = raw
		v.identityContent = canonicalTXT(raw)
	case TypeSRV:
		return validateSRV(v, p, content)
	case TypeCAA:
		return validateCAA(v, p, content)
	}
	return nil
}

func validateSRV(v *valid, p Params, content string) error {
	labels := strings.Split(v.Name, ".")
	if len(labels) < 3 || !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
		return errs.InvalidField("name", "An SRV record's name starts with _service._proto, like _sip._tcp.example.com.")
	}
	var prio, weight, port *int
	var target string
	if d := p.Data; d != nil && (d.Weight != nil || d.Port != nil || d.Target != "" || d.Priority != nil) {
		prio, weight, port, target = d.Priority, d.Weight, d.Port, d.Target
		if prio == nil {
			prio = p.Priority
		}
	} else {
		f := strings.Fields(content)
		switch len(f) {
		case 3:
			prio = p.Priority
		case 4:
			n, err := strconv.Atoi(f[0])
			if err != nil {
				return errs.InvalidField("content", "An SRV record's content is \"priority weight port target\" or \"weight port target\"; %q is not.", content)
			}
			prio, f = &n, f[1:]
		default:
			return errs.InvalidField("content", "An SRV record's content is \"priority weight port target\" or \"weight port target\" (or send them in data); %q is not.", content)
		}
		w, err1 := strconv.Atoi(f[0])
		pt, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return errs.InvalidField("content", "An SRV record's weight and port are numbers; %q has %q and %q.", content, f[0], f[1])
		}
		weight, port, target = &w, &pt, f[2]
	}
	for _, c := range []struct {
		field string
		n     *int
	}{{"data.priority", prio}, {"data.weight", weight}, {"data.port", port}} {
		if c.n == nil {
			return errs.InvalidField(c.field, "An SRV record needs a %s between 0 and 65535.", strings.TrimPrefix(c.field, "data."))
		}
		if *c.n < 0 || *c.n > 65535 {
			return errs.InvalidField(c.field, "The SRV %s must be between 0 and 65535; got %d.", strings.TrimPrefix(c.field, "data."), *c.n)
		}
	}
	h, err := normalizeHost("data.target", target, true)
	if err != nil {
		return err
	}
	v.Priority = prio
	v.Content = fmt.Sprintf("%d %d %s", *weight, *port, h)
	v.Data = map[string]any{"priority": *prio, "weight": *weight, "port": *port, "target": h}
	return nil
}

// CAA tags Latchkey accepts, as Cloudflare does.
var caaTags = map[string]bool{"issue": true, "issuewild": true, "iodef": true}

func validateCAA(v *valid, p Params, content string) error {
	var flags *int
	var ctag, value string
	if d := p.Data; d != nil && (d.Flags != nil || d.Tag != "" || d.Value != "") {
		flags, ctag, value = d.Flags, d.Tag, d.Value
		if flags == nil {
			zero := 0
			flags = &zero
		}
	} else {
		f := strings.SplitN(content, " ", 3)
		if len(f) != 3 {
			return errs.InvalidField("content", "A CAA record's content is \"flags tag value\", like 0 issue \"letsencrypt.org\" (or send them in data); %q is not.", content)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return errs.InvalidField("data.flags", "A CAA record's flags are a number from 0 to 255; got %q.", f[0])
		}
		flags, ctag, value = &n, f[1], strings.TrimSpace(f[2])
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
		}
	}
	if *flags < 0 || *flags > 255 {
		return errs.InvalidField("data.flags", "A CAA record's flags are a number from 0 to 255; got %d.", *flags)
	}
	ctag = strings.ToLower(strings.TrimSpace(ctag))
	if !caaTags[ctag] {
		return errs.InvalidField("data.tag", "A CAA record's tag is issue, issuewild or iodef; got %q.", ctag)
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return errs.InvalidField("data.value", "Enter the CAA record's value, like letsencrypt.org.")
	}
	if len(value) > 255 || !utf8.ValidString(value) || strings.ContainsAny(value, "\"\r\n\t") {
		return errs.InvalidField("data.value", "A CAA value has at most 255 characters and no quotes or line breaks.")
	}
	if ctag == "iodef" && !strings.HasPrefix(value, "mailto:") && !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		return errs.InvalidField("data.value", "An iodef CAA value is a mailto: or http(s):// URL.")
	}
	v.Content = fmt.Sprintf("%d %s %q", *flags, ctag, value)
	v.Data = map[string]any{"flags": *flags, "tag": ctag, "value": value}
	return nil
}

// parseTXT returns the text of a TXT record's content. Content that is a sequence of quoted
// strings ("v=spf1 …" or "part one" "part two", with \" and \\ escapes) is unquoted and joined;
// anything else is the text itself, without surrounding white space.
func parseTXT(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, `"`) {
		return t
	}
	var b strings.Builder
	i := 0
	for i < len(t) {
		for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
			i++
		}
		if i == len(t) {
			break
		}
		if t[i] != '"' {
			return t
		}
		i++
		closed := false
		for i < len(t) {
			c := t[i]
			if c == '\\' && i+1 < len(t) {
				if d := t[i+1]; d >= '0' && d <= '9' && i+3 < len(t) {
					if n, err := strconv.Atoi(t[i+1 : i+4]); err == nil && n < 256 {
						b.WriteByte(byte(n))
						i += 4
						continue
					}
				}
				b.WriteByte(t[i+1])
				i += 2
				continue
			}
			if c == '"' {
				closed = true
				i++
				break
			}
			b.WriteByte(c)
			i++
		}
		if !closed {
			return t
		}
	}
	return b.String()
}

// canonicalTXT returns TXT content in one spelling per served answer: its quoted strings (or
// its text as one string) each quoted by QuoteTXT, joined by spaces.
func canonicalTXT(content string) string {
	t := strings.TrimSpace(content)
	if !strings.HasPrefix(t, `"`) || parseTXT(t) == t {
		return QuoteTXT(t)
	}
	var parts []string
	rest := t
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		// Find the end of this quoted string.
		i := 1
		for i < len(rest) && rest[i] != '"' {
			if rest[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(rest) {
			return QuoteTXT(parseTXT(t))
		}
		parts = append(parts, QuoteTXT(parseTXT(rest[:i+1])))
		rest = rest[i+1:]
	}
	return strings.Join(parts, " ")
}

// QuoteTXT returns text in the form Cloudflare answers TXT content in: quoted, with " and \
// escaped, split into quoted strings of at most 255 bytes (on character boundaries) when longer.
func QuoteTXT(text string) string {
	var b strings.Builder
	chunk := 0
	b.WriteByte('"')
	for _, r := range text {
		n := utf8.RuneLen(r)
		if chunk+n > 255 {
			b.WriteString(`" "`)
			chunk = 0
		}
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		chunk += n
	}
	b.WriteByte('"')
	return b.String()
}

// encodeData returns the JSON of d, or nil for none.
func encodeData(d map[string]any) (*string, error) {
	if d == nil {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode dns record data: %w", err)
	}
	s := string(b)
	return &s, nil
}
