package web

import (
	"fmt"
	"strconv"
	"time"
)

// ZoneHeader is the title and tabs shown above every page of one zone (DNS records, cache).
type ZoneHeader struct {
	ID, Name string
	// Tab is the active tab: "dns", "purge" or "nameservers".
	Tab string
	// CanDNS, CanPurge, CanAnalytics and CanFirewall show the tabs the user may open.
	CanDNS, CanPurge, CanAnalytics, CanFirewall bool
}

// DNSURL is the zone's DNS records page.
func (z ZoneHeader) DNSURL() string { return "/zones/" + z.ID + "/dns" }

// PurgeURL is the zone's cache purge page.
func (z ZoneHeader) PurgeURL() string { return "/zones/" + z.ID + "/purge" }

// NameServersURL is the zone's name servers and delegation page.
func (z ZoneHeader) NameServersURL() string { return "/zones/" + z.ID + "/nameservers" }

// NameServersView is the zone's name servers page: where to delegate, and (once checked) where
// the zone is delegated now.
type NameServersView struct {
	Zone ZoneHeader
	// NameServers are the names to set at the registrar (LATCHKEY_NAMESERVERS, as in the API's
	// name_servers and the DNS server's NS records).
	NameServers []string
	// Details are the zone object's other fields, as the API gives them: status, activated_on,
	// owner, development_mode and the original name servers, registrar and DNS host.
	Details []ZoneDetail
	// Checked is set once the delegation was looked up; Status is active, pending or unknown.
	Checked bool
	Status  string
	Found   []string
	Problem string
}

// ZoneDetail is one labelled value of a zone's details.
type ZoneDetail struct{ Label, Value string }

// DNSRecord is one row of a zone's DNS records.
type DNSRecord struct {
	ID, Type, Name, Content string
	TTL                     int
	Proxied, Proxiable      bool
	Priority                *int
	Comment                 string
}

// TTLLabel is the TTL as people read it: "Auto" for 1, else minutes, hours or seconds.
func (r DNSRecord) TTLLabel() string { return TTLLabel(r.TTL) }

// PriorityLabel is the priority, or "" for types without one.
func (r DNSRecord) PriorityLabel() string {
	if r.Priority == nil {
		return ""
	}
	return strconv.Itoa(*r.Priority)
}

// TTLLabel formats a DNS TTL in seconds (1 means automatic).
func TTLLabel(ttl int) string {
	switch {
	case ttl == 1:
		return "Auto"
	case ttl%86400 == 0:
		return plural(ttl/86400, "day")
	case ttl%3600 == 0:
		return fmt.Sprintf("%d hr", ttl/3600)
	case ttl%60 == 0:
		return fmt.Sprintf("%d min", ttl/60)
	}
	return fmt.Sprintf("%d s", ttl)
}

// DNSView is a zone's DNS records page.
type DNSView struct {
	Zone       ZoneHeader
	Records    []DNSRecord
	Pagination Pagination
	// Types are the record type filter's options (the first is "All types"); TypeOptions the
	// add form's.
	Types, TypeOptions []Option
	// TTLs are the add form's TTL choices.
	TTLs []Option
	// Search is the current search text; Filtered is set when a type or search narrows the list.
	Search   string
	Filtered bool
	// CanWrite shows the add form and the delete buttons.
	CanWrite bool
	// Form is the add-record form, with errors after a failed submission.
	Form Form
}

// DNSDeleteView asks to confirm a record's deletion.
type DNSDeleteView struct {
	Zone   ZoneHeader
	Record DNSRecord
}

// PurgeEntry is one recorded purge in a zone's history.
type PurgeEntry struct {
	Kind  string
	Items []string
	// Actor says who purged: an email, or an API token or system id.
	Actor string
	At    time.Time
	// AppliedAt is when an edge process applied the purge, if one has.
	AppliedAt *time.Time
}

// AppliedLabel says when the purge took effect at the edge.
func (e PurgeEntry) AppliedLabel() string {
	if e.AppliedAt == nil {
		return "not yet applied by an edge process"
	}
	d := e.AppliedAt.Sub(e.At)
	if d < 0 {
		d = 0
	}
	return "took effect " + d.Round(time.Millisecond).String() + " later"
}

// When formats the time of the purge.
func (e PurgeEntry) When() string { return e.At.UTC().Format("Jan 2, 2006 15:04 UTC") }

// ISO is the time for a <time datetime> attribute.
func (e PurgeEntry) ISO() string { return e.At.UTC().Format(time.RFC3339) }

// KindLabel names the kind of purge.
func (e PurgeEntry) KindLabel() string {
	switch e.Kind {
	case "everything":
		return "Everything"
	case "files":
		return "URLs"
	case "tags":
		return "Cache tags"
	case "hosts":
		return "Hosts"
	case "prefixes":
		return "Prefixes"
	}
	return e.Kind
}

// PurgeView is a zone's cache purge page.
type PurgeView struct {
	Zone       ZoneHeader
	Entries    []PurgeEntry
	Pagination Pagination
	// Kinds are the custom purge's choices (URLs, tags, hosts, prefixes).
	Kinds []Option
	// MaxItems is how many items one purge may list.
	MaxItems int
	// Form is the custom purge form ("kind" and "items"), with errors after a failed one.
	Form Form
	// Edge says whether the edge is running.
	Edge EdgeStatus
}

// PurgeConfirmView asks to confirm purging everything.
type PurgeConfirmView struct {
	Zone ZoneHeader
}

// Member is one row of the members list.
type Member struct {
	ID, Email, Name string
	RoleName        string
	// Zones are the names of the zones the role is limited to; empty means all zones.
	Zones []string
	// Status is "accepted" or "pending".
	Status string
	// You marks the signed-in user's own membership.
	You bool
	// Expires is when a pending invitation's link stops working ("" for members).
	Expires string
}

// Pending reports whether the member has not accepted their invitation yet.
func (m Member) Pending() bool { return m.Status != "accepted" }

// MembersView is the members page.
type MembersView struct {
	AccountName string
	Members     []Member
	Pagination  Pagination
	// CanWrite shows the invite form and the change and remove buttons.
	CanWrite bool
	// Roles are the invite form's roles; Zones its zone picker.
	Roles []Option
	Zones ZonePicker
	// Form is the invite form, with errors after a failed one.
	Form Form
	// Invited is set right after an invitation: its code is shown this once.
	Invited *Invitation
	// MailOff says that no mail is sent (no SMTP server configured): the inviter sends the link.
	MailOff bool
	// Quota is the plan's member limit; nil when billing is off.
	Quota *Quota
}

// Invitation is a new invitation with its one-time code.
type Invitation struct {
	Email, Code string
	// URL is the accept page with the code filled in.
	URL string
	// Expires is when the code stops working.
	Expires time.Time
}

// ExpiresLabel formats the code's expiry.
func (i Invitation) ExpiresLabel() string { return i.Expires.UTC().Format("Jan 2, 2006 15:04 UTC") }

// MemberEditView is the page that changes a member's role and zones.
type MemberEditView struct {
	Member Member
	Roles  []Option
	Zones  ZonePicker
	Form   Form
}

// MemberDeleteView asks to confirm a member's removal.
type MemberDeleteView struct {
	AccountName string
	Member      Member
	// Error is why a removal was refused (the last Super Administrator, a member above the
	// user's access), shown on the page after a failed attempt.
	Error string
}

// InvitationAcceptView is the page where a user accepts an invitation with its code.
type InvitationAcceptView struct {
	// SignedIn is false for visitors, who are asked to sign in or sign up first.
	SignedIn bool
	Email    string
	// SignInURL and SignUpURL come back here after signing in or up.
	SignInURL, SignUpURL string
	Form                 Form
	// Invitation describes the invitation of the code in the link, when it is valid.
	Invitation *InvitationDetails
	// Void is why the code in the link cannot be accepted (unknown, used, withdrawn or expired),
	// when it cannot: a visitor is then not asked to sign in for nothing.
	Void string
}

// InvitationDetails is what an invitation offers: the account, who invited, the role and zones.
type InvitationDetails struct {
	Email, Account, Inviter, Role string
	// Zones names the zones the role is limited to; empty means every zone.
	Zones   []string
	Expires string
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID string
	At time.Time
	// Actor is a person's email, "token name (owner email)" for a change made with a user's
	// token, "token name (account token)" for an account-owned token, or a system name;
	// Interface is api, dashboard or cli.
	Actor, ActorType, Interface string
	IP                          string
	Action                      string
	ResourceType, ResourceID    string
	// ResourceName names the resource beside its id (record name, member email, token name).
	ResourceName string
	ZoneName     string
	OK           bool
	// Base is the log's address ("/audit" or "/profile/activity"); entry pages hang below it.
	Base string
}

// When formats the entry's time.
func (e AuditEntry) When() string { return e.At.UTC().Format("2006-01-02 15:04:05 UTC") }

// ISO is the time for a <time datetime> attribute.
func (e AuditEntry) ISO() string { return e.At.UTC().Format(time.RFC3339) }

// URL is the entry's detail page.
func (e AuditEntry) URL() string {
	if e.Base == "" {
		return "/audit/" + e.ID
	}
	return e.Base + "/" + e.ID
}

// AuditView is the audit log page.
type AuditView struct {
	AccountName string
	Entries     []AuditEntry
	Pagination  Pagination
	// Filter holds the filter form's values and errors (action, actor_email, actor_ip, zone,
	// since, until).
	Filter Form
	// Filtered is set when any filter applies; CSVURL exports what the filters select.
	Filtered bool
	CSVURL   string
	// Mine is set on the user's own log ("My activity"), which is not an account's.
	Mine bool
	// Base is the page's address: "/audit" or "/profile/activity".
	Base string
	// Chain says whether the log's hash chain verified, and up to when.
	Chain ChainStatus
}

// ChainStatus is the result of verifying a log's hash chain.
type ChainStatus struct {
	// Checked is set when verification ran.
	Checked bool
	// VerifiedUpTo is the time of the newest verified entry (zero: nothing recorded yet).
	VerifiedUpTo time.Time
	// Broken describes the first broken entry; empty when the chain verified.
	Broken string
}

// When formats the time the chain is verified up to.
func (c ChainStatus) When() string { return c.VerifiedUpTo.UTC().Format("2006-01-02 15:04:05 UTC") }

// AuditDetailView is one audit entry with its old and new values as indented JSON.
type AuditDetailView struct {
	Entry     AuditEntry
	UserAgent string
	Old, New  string
	// BackURL returns to the list.
	BackURL string
	// Token names the API token the change was made with, when one was ("name (id)").
	Token string
}

// TokenUsageView is what a token did with its permissions over the last days.
type TokenUsageView struct {
	Name, ListURL, EditURL    string
	Days                      int
	Requests, Allowed, Denied int64
	LastUsed                  *time.Time
	Groups                    []TokenUsageGroup
	// Unused lists granted groups no request needed; ReadWouldDo Write groups only read with.
	Unused, ReadWouldDo []string
	// Namespaces counts requests by the Workers KV namespace they acted on (by title);
	// UnusedNamespaces are namespaces the token names that no request used.
	Namespaces       []TokenUsageGroup
	UnusedNamespaces []string
	// ShedKnown is set when this server counts the API requests it sheds under load; Shed is how
	// many API requests of the period made with this token it shed and did not count (never
	// another token's), ShedUnattributed whether it also shed requests it could not attribute to
	// a token, and CountingSince, when not zero, when it started counting (within the period).
	ShedKnown        bool
	Shed             int64
	ShedUnattributed bool
	CountingSince    time.Time
}

// CountedLabel says whether every API request of the period was counted ("" when unknown).
func (v TokenUsageView) CountedLabel() string {
	switch {
	case !v.ShedKnown:
		return ""
	case v.Shed == 0 && v.ShedUnattributed:
		return "Some API requests in this period were not counted (shed under load), and this server could not tell which tokens made them, so these figures may be low."
	case v.Shed == 0 && v.CountingSince.IsZero():
		return "All requests were counted."
	case v.Shed == 0:
		return "All requests were counted since this server started (" + v.CountingSince.UTC().Format("Jan 2, 2006 15:04 UTC") + ")."
	}
	more := ""
	if v.ShedUnattributed {
		more = " More may not have been: this server could not tell which tokens made some of the requests it shed."
	}
	if v.Shed == 1 {
		return "1 API request made with this token in this period was not counted (shed under load), so these figures may be low." + more
	}
	return fmt.Sprintf("%d API requests made with this token in this period were not counted (shed under load), so these figures may be low.", v.Shed) + more
}

// LastUsedLabel formats when the token was last used.
func (v TokenUsageView) LastUsedLabel() string {
	if v.LastUsed == nil {
		return "Not used in this period"
	}
	return v.LastUsed.UTC().Format("Jan 2, 2006 15:04 UTC")
}

// TokenUsageGroup counts the requests that needed one permission group.
type TokenUsageGroup struct {
	Name            string
	Allowed, Denied int64
}

// DNSEditView is the page that changes one record: the same fields as the add form, filled in.
type DNSEditView struct {
	Zone   ZoneHeader
	Record DNSRecord
	// TypeOptions and TTLs are the form's choices; Form holds the values and any errors.
	TypeOptions, TTLs []Option
	Form              Form
}

// DNSBulkDeleteView asks to confirm deleting the selected records.
type DNSBulkDeleteView struct {
	Zone    ZoneHeader
	Records []DNSRecord
}

// DNSImportView is the page that imports a BIND zone file; Form holds the pasted text, the
// proxied default and any error.
type DNSImportView struct {
	Zone ZoneHeader
	Form Form
	// MaxRecords is how many records one file may hold.
	MaxRecords int
}
