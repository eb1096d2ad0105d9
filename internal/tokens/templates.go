package tokens

import (
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
)

// Template is a ready-made set of permissions for a common job, offered by the dashboard and by
// "latchkey admin create-token --template". Zone groups apply to all zones of the chosen accounts
// or to chosen zones, account groups to the chosen accounts, user groups to the user.
type Template struct {
	Slug         string
	Name         string
	Description  string
	ZonePerms    []authz.Perm
	AccountPerms []authz.Perm
	UserPerms    []authz.Perm
	// DNS, when set, narrows the template's DNS groups to some record names and types (the
	// "dns_records" policy extension); its other zone groups stay unconstrained.
	DNS *authz.DNSConstraint
}

var templates = []Template{
	{Slug: "edit-zone-dns", Name: "Edit zone DNS", Description: "Edit DNS records, e.g. for ACME DNS-01 clients (lego, certbot). Includes Zone Read so clients can find the zone by name.",
		ZonePerms: []authz.Perm{authz.ZoneRead, authz.DNSWrite}},
	{Slug: "acme-dns-01", Name: "ACME DNS-01", Description: "Only create and delete the TXT records under _acme-challenge that Let's Encrypt DNS-01 clients (lego, certbot) need. Includes Zone Read so clients can find the zone by name.",
		ZonePerms: []authz.Perm{authz.ZoneRead, authz.DNSWrite},
		DNS:       &authz.DNSConstraint{Names: []string{"_acme-challenge.*"}, Types: []string{"TXT"}}},
	{Slug: "read-analytics", Name: "Read analytics", Description: "Read zone analytics, e.g. for a monitoring tool.",
		ZonePerms: []authz.Perm{authz.ZoneRead, authz.AnalyticsRead}},
	{Slug: "purge-cache", Name: "Purge cache", Description: "Purge cached content, e.g. from a deploy script.",
		ZonePerms: []authz.Perm{authz.ZoneRead, authz.CachePurge}},
	{Slug: "edit-firewall-access-rules", Name: "Edit firewall access rules", Description: "Add and remove IP access rules of zones and accounts.",
		ZonePerms: []authz.Perm{authz.ZoneRead, authz.FirewallWrite}, AccountPerms: []authz.Perm{authz.AccountFirewallWrite}},
	{Slug: "edit-workers-kv", Name: "Edit Workers KV", Description: "Read and write Workers KV namespaces and values.",
		AccountPerms: []authz.Perm{authz.KVWrite}},
	{Slug: MintTemplateSlug, Name: "Create additional tokens", Description: "Create further API tokens, e.g. one per server from a provisioning script. A token can only give what it holds itself, so you pick what the tokens it creates may be given, and it holds those permissions too. Use an IP filter and an expiry.",
		UserPerms: []authz.Perm{authz.TokensWrite}},
}

// MintTemplateSlug is the slug of the "Create additional tokens" template. A token made from it
// alone can only mint more token-minting tokens, since a child stays within its parent; the
// dashboard lets the user add what the minted tokens may be given, which the minting token then
// holds too.
const MintTemplateSlug = "create-additional-tokens"

// Templates returns the token templates in display order.
func Templates() []Template {
	out := make([]Template, len(templates))
	copy(out, templates)
	return out
}

// TemplateByName finds a template by its name or slug, ignoring case, spaces and hyphens
// ("Edit zone DNS", "edit-zone-dns", "EDIT_ZONE_DNS").
func TemplateByName(s string) (Template, bool) {
	key := templateKey(s)
	for _, t := range templates {
		if templateKey(t.Name) == key || templateKey(t.Slug) == key {
			return t, true
		}
	}
	return Template{}, false
}

func templateKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// TemplateNames lists the templates' names, for help and error texts.
func TemplateNames() []string {
	out := make([]string, len(templates))
	for i, t := range templates {
		out[i] = fmt.Sprintf("%q (%s)", t.Name, t.Slug)
	}
	return out
}

// ZoneRef is a zone a template is restricted to.
type ZoneRef struct{ AccountID, ZoneID string }

// Policies returns the template's policies in wire form for user userID: zone groups on all zones
// of accountIDs, or only on zones when zones is non-empty; account groups on accountIDs (or on the
// accounts of zones); user groups on the user.
func (t Template) Policies(userID string, accountIDs []string, zones []ZoneRef) ([]authz.PolicyJSON, error) {
	if len(zones) > 0 && len(t.ZonePerms) == 0 {
		return nil, errs.InvalidField("zone", "The template %q has no zone permissions, so it cannot be restricted to zones.", t.Name)
	}
	if len(zones) > 0 {
		seen := map[string]bool{}
		accountIDs = nil
		for _, z := range zones {
			if !seen[z.AccountID] {
				seen[z.AccountID] = true
				accountIDs = append(accountIDs, z.AccountID)
			}
		}
	}
	var ps []authz.PolicyJSON
	if len(t.ZonePerms) > 0 {
		res := map[string]any{}
		if len(zones) > 0 {
			for _, z := range zones {
				res["com.cloudflare.api.account.zone."+z.ZoneID] = "*"
			}
		} else {
			for _, a := range accountIDs {
				res["com.cloudflare.api.account."+a] = map[string]any{"com.cloudflare.api.account.zone.*": "*"}
			}
		}
		if len(res) > 0 {
			plain, dns := t.ZonePerms, []authz.Perm(nil)
			if t.DNS != nil {
				plain, dns = splitDNS(t.ZonePerms)
			}
			if len(plain) > 0 {
				ps = append(ps, authz.PolicyJSON{Effect: authz.Allow, Resources: res, PermissionGroups: groupRefs(plain)})
			}
			if len(dns) > 0 {
				c := *t.DNS
				ps = append(ps, authz.PolicyJSON{Effect: authz.Allow, Resources: res, PermissionGroups: groupRefs(dns), DNSRecords: &c})
			}
		}
	}
	if len(t.AccountPerms) > 0 && len(accountIDs) > 0 {
		res := map[string]any{}
		for _, a := range accountIDs {
			res["com.cloudflare.api.account."+a] = "*"
		}
		ps = append(ps, authz.PolicyJSON{Effect: authz.Allow, Resources: res, PermissionGroups: groupRefs(t.AccountPerms)})
	}
	if len(t.UserPerms) > 0 {
		ps = append(ps, authz.PolicyJSON{Effect: authz.Allow, Resources: map[string]any{"com.cloudflare.api.user." + userID: "*"},
			PermissionGroups: groupRefs(t.UserPerms)})
	}
	if len(ps) == 0 {
		return nil, errs.E(errs.Invalid, "The template %q grants nothing here: the user belongs to no account.", t.Name)
	}
	return ps, nil
}

// splitDNS separates the DNS groups, which a DNS constraint may narrow, from the other zone groups.
func splitDNS(perms []authz.Perm) (plain, dns []authz.Perm) {
	for _, p := range perms {
		if p == authz.DNSRead || p == authz.DNSWrite {
			dns = append(dns, p)
		} else {
			plain = append(plain, p)
		}
	}
	return plain, dns
}

func groupRefs(perms []authz.Perm) []authz.GroupRef {
	out := make([]authz.GroupRef, len(perms))
	for i, p := range perms {
		g := p.Group()
		out[i] = authz.GroupRef{ID: g.ID, Name: g.Name}
	}
	return out
}
