package dns

import (
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
)

// NormalizeName turns a record name as clients send it into the stored form: the lower-case
// fully qualified name without a trailing dot. zone is the zone's (normalised) name.
//
//   - "@" is the zone itself.
//   - A name with a trailing dot is absolute and must be the zone or inside it.
//   - A name without one is absolute when it is the zone or ends in ".<zone>" (as Cloudflare
//     reads it), and relative to the zone otherwise: "_acme-challenge" in example.com is
//     "_acme-challenge.example.com".
//
// Labels hold letters, digits, hyphens and underscores (1–63 characters); the first label may be
// "*" for a wildcard; the whole name has at most 253 characters. Errors name the "name" field.
func NormalizeName(zone, name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	switch {
	case n == "":
		return "", errs.InvalidField("name", "Enter a record name: @ for %s itself, a name like www, or a full name inside %s.", zone, zone)
	case n == "@" || n == "@.":
		return zone, nil
	case strings.HasSuffix(n, "."):
		n = strings.TrimSuffix(n, ".")
		if !inZone(n, zone) {
			return "", errs.InvalidField("name", "The name %s is not inside the zone %s.", name, zone)
		}
	case !inZone(n, zone):
		n = n + "." + zone
	}
	if err := checkName(n, true); err != "" {
		return "", errs.InvalidField("name", "%q is not a valid record name: %s.", name, err)
	}
	return n, nil
}

// inZone reports whether name is zone or a subdomain of it (both lower-case, no trailing dot).
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// checkName returns why n (lower-case, no trailing dot) is not a valid DNS name, or "" when it
// is. wildcard allows "*" as the first label.
func checkName(n string, wildcard bool) string {
	if len(n) > 253 {
		return "a name has at most 253 characters"
	}
	labels := strings.Split(n, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && wildcard {
			continue
		}
		if l == "" {
			return "it has an empty part between dots"
		}
		if len(l) > 63 {
			return "each part between dots has at most 63 characters"
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c == '*' {
					return "a * may only stand alone as the first part (a wildcard)"
				}
				if c >= 0x80 {
					return "use the ASCII (xn--) form of international names"
				}
				return "use only letters, digits, hyphens and underscores between dots"
			}
		}
	}
	return ""
}

// normalizeHost validates the host name a CNAME, NS, MX or SRV record points to and returns it
// lower-case without a trailing dot. allowRoot accepts "." (null MX, "no service" SRV).
func normalizeHost(field, s string, allowRoot bool) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if h == "." && allowRoot {
		return ".", nil
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", errs.InvalidField(field, "Enter a host name, like host.example.com.")
	}
	if err := checkName(h, false); err != "" {
		return "", errs.InvalidField(field, "%q is not a valid host name: %s.", s, err)
	}
	if !strings.Contains(h, ".") {
		return "", errs.InvalidField(field, "%q is not a full host name; enter one with a dot, like host.example.com.", s)
	}
	return h, nil
}
