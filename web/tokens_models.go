package web

import (
	"strconv"
	"time"
)

// Option is one choice of a select.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// OptionGroup is a labelled group of options (an <optgroup>).
type OptionGroup struct {
	Label   string
	Options []Option
}

// TokenTab is one tab above the token pages: the user's own tokens, or an account's.
type TokenTab struct {
	Label  string
	URL    string
	Active bool
}

// TokenRowItem is one token in a token list.
type TokenRowItem struct {
	ID     string
	Name   string
	Status string // active, disabled or expired (stored or derived)
	// Badge is what the status badge shows: active, disabled, expired, pending (not yet valid)
	// or expiring (within 7 days); BadgeNote adds the date ("starts Jan 2, 2027").
	Badge     string
	BadgeNote string
	// Warning says the token currently reaches nothing, and why; empty otherwise.
	Warning string
	Summary string
	Hint    string
	// EnableBlocked says why Enable is not offered (a leak report not yet answered by a roll).
	EnableBlocked string
	// Created, LastUsed and Expires are formatted by the handler, which knows the time.
	Created  string
	LastUsed string
	Expires  string
	// URLs of the token's pages.
	EditURL, RollURL, DeleteURL, StatusURL, CheckURL, UsageURL string
	// ReadOnlyURL is the "Make read-only" page; empty when the token has no Write permission.
	ReadOnlyURL string
	// LeakNotice says the token was reported as leaked and disabled; empty otherwise.
	LeakNotice string
}

// TokenListView is the list of a user's or an account's tokens.
type TokenListView struct {
	// Quota, with billing on, says why creating is off at the plan's limit and where to upgrade.
	Quota *Quota
	// Title is "Your API tokens" or "API tokens of Acme".
	Title string
	// Owner describes whom the tokens act for, in the intro sentence.
	Owner    string
	Tabs     []TokenTab
	Tokens   []TokenRowItem
	Statuses []Option // the status filter
	Status   string   // the filter in force ("" for all)
	// Query is the name search; ZoneFilter the zone filter (nil when the user sees no zone),
	// Zone the id of the zone in force.
	Query      string
	ZoneFilter *ZonePicker
	Zone       string
	// Total is how many tokens there are before filtering; Limit how many the owner may hold.
	Total int
	Limit int
	// Matching is how many tokens the filters leave; Page is 1-based; PrevURL and NextURL are
	// empty at either end.
	Matching         int
	Page, PageCount  int
	PrevURL, NextURL string
	BaseURL          string
	CanWrite         bool
}

// Filtered reports whether a search or filter is in force.
func (v TokenListView) Filtered() bool { return v.Status != "" || v.Query != "" || v.Zone != "" }

// CountText is "3 of 50 tokens" (what the owner holds of what they may hold).
func (v TokenListView) CountText() string {
	return strconv.Itoa(v.Total) + " of " + strconv.Itoa(v.Limit) + " tokens"
}

// MintingView is the "what may the minted tokens be given?" picker: a GET form to URL that
// re-renders the form with the rows of the chosen templates added.
type MintingView struct {
	URL, Template string
	Choices       []MintChoice
}

// MintChoice is one template whose permissions the minted tokens may be given.
type MintChoice struct {
	Slug, Name, Description string
	Checked                 bool
}

// TokenTemplateItem is a template offered when creating a token.
type TokenTemplateItem struct {
	Slug        string
	Name        string
	Description string
	URL         string
	// Clients says which clients were tested with the template and how to point them at
	// Latchkey; empty for templates no particular client uses.
	Clients string
}

// TokenRow is one permission row of the token form: what (scope, permission group, level) and,
// for zone and account rows, where. Field names are "rows-<Index>-<field>".
type TokenRow struct {
	Index     int
	Scope     string // zone, account or user
	Group     string // the permission group's label, e.g. "DNS"
	Level     string // read or edit
	ZoneMode  string // account (all zones of an account), zone (specific zones) or except
	AccountID string
	ZoneIDs   []string
	ZoneNames string
	DNSNames  string
	DNSTypes  string
	// NsMode is "" (every namespace of the account), "only" or "except"; NamespaceIDs the
	// namespaces it names. Shown for Workers KV rows (IsKV).
	NsMode       string
	NamespaceIDs []string

	Scopes    []Option
	Groups    []Option
	Levels    []Option
	ZoneModes []Option
	Accounts  []Option
	// ZonePicker chooses the zones of "Specific zones" and "All zones of an account except…".
	ZonePicker ZonePicker
	// IsDNS shows the record constraint fields.
	IsDNS bool
	// IsKV shows the namespace choice; NsModes and Namespaces are its options.
	IsKV       bool
	NsModes    []Option
	Namespaces []Option
	Errors     map[string]string
}

// Field returns the form field name of one of the row's inputs.
func (r TokenRow) Field(name string) string { return "rows-" + strconv.Itoa(r.Index) + "-" + name }

// ID returns the element id of one of the row's inputs.
func (r TokenRow) ID(name string) string { return "field-" + r.Field(name) }

// Err returns the message for one of the row's inputs, or "".
func (r TokenRow) Err(name string) string { return r.Errors[name] }

// IndexString is the row's 0-based index, the value of its remove button.
func (r TokenRow) IndexString() string { return strconv.Itoa(r.Index) }

// Number is the row's 1-based number, for labels read by screen readers.
func (r TokenRow) Number() string { return strconv.Itoa(r.Index + 1) }

// TokenFormView is the create and edit form.
type TokenFormView struct {
	// Action is where the form posts; ListURL where Cancel goes.
	Action  string
	ListURL string
	Editing bool
	// Heading is the page's heading, e.g. "Create a token" or "Edit “deploy”".
	Heading string
	// Owner says whom the token acts for ("you", "the account Acme").
	Owner string
	// Templates, when set, shows the template picker instead of the form.
	Templates []TokenTemplateItem
	CustomURL string
	Template  string // the chosen template's name, if any
	// Minting, for the "Create additional tokens" template, lets the user pick what the tokens
	// it mints may be given (which the minting token must hold too); nil otherwise.
	Minting *MintingView

	Name      string
	Rows      []TokenRow
	IPIn      string
	IPNotIn   string
	NotBefore string
	ExpiresOn string
	// Exact* carry the token's stored times on edit, so an unchanged date keeps its exact time.
	ExactNotBefore string
	ExactExpiresOn string
	// Unrepresentable is set on edit when the token's policies (written through the API) cannot
	// be shown as rows; Current describes them and Replace says whether the rows replace them.
	Unrepresentable bool
	Current         []string
	Replace         bool
	// ReadOnlyURL, on edit, offers to make the token read-only in one step; empty when it has
	// no Write permission.
	ReadOnlyURL string
	// LeakNotice, on edit, says the token was reported as leaked and disabled; empty otherwise.
	LeakNotice string
	// Parent, on edit, is the token that minted this one through the API (nil when none);
	// Children are the tokens this one minted. Revoking a token disables its descendants.
	Parent   *TokenLink
	Children []TokenLink

	Errors map[string]string
	Error  string
}

// TokenLink names a related token on the edit page; URL is empty when the viewer cannot open it
// (deleted, or owned by someone else).
type TokenLink struct {
	ID     string
	Name   string
	Status string
	URL    string
}

// Err returns the message for a field of the form, or "".
func (v TokenFormView) Err(name string) string { return v.Errors[name] }

// Hidden is one hidden input that carries the form through the summary page.
type Hidden struct{ Name, Value string }

// TokenSummaryView is the plain-language summary shown before a token is created or saved.
type TokenSummaryView struct {
	Action  string
	ListURL string
	Editing bool
	Name    string
	Owner   string
	// Lines describe what the token can do, where, from where and when.
	Lines  []string
	Hidden []Hidden
}

// TokenSecretView shows a new or rolled secret, once.
type TokenSecretView struct {
	Name    string
	Secret  string
	Curl    string
	ListURL string
	Rolled  bool
}

// TokenConfirmView asks to confirm a roll or a deletion.
type TokenConfirmView struct {
	Name    string
	Summary string
	Action  string
	ListURL string
	// Kind is "roll" or "delete".
	Kind string
}

// TokenReadOnlyView asks to confirm making a token read-only.
type TokenReadOnlyView struct {
	Name    string
	Action  string
	ListURL string
	// Before and After describe what the token can do today and once read-only.
	Before, After []string
	// Error says why the token cannot be made read-only; the page then offers no button.
	Error string
}

// TokenCheckView is the "Can this token do X?" page.
type TokenCheckView struct {
	ListURL   string
	Action    string
	Tokens    []Option
	Perms     []OptionGroup
	Resources []OptionGroup
	// Zone picks a zone instead of one of Resources.
	Zone   ZonePicker
	Name   string // DNS record name
	Type   string // DNS record type
	IP     string
	Errors map[string]string
	// Answered is set once a question was asked and valid.
	Answered bool
	Allowed  bool
	Verdict  string
	// Checks are the checks behind the verdict, in the order the API applies them: the token's
	// policies, its owner's current access, its status and validity window, its IP filter. The
	// verdict is Yes only when every check passes.
	Checks []CheckStep
}

// CheckStep is one check of the "Can this token do it?" answer.
type CheckStep struct {
	Name string // "Token policies", "Owner's access", "Validity", "IP filter"
	// State is "pass", "fail" or "skip" (not decided: an earlier check failed, or the page lacks
	// the input, such as a client address).
	State string
	Text  string
}

// Err returns the message for a field of the check form, or "".
func (v TokenCheckView) Err(name string) string { return v.Errors[name] }

// FormatDate formats an optional time as a date, or "—".
func FormatDate(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("Jan 2, 2006")
}

// FormatAgo formats an optional time relative to now: "never", "just now", "5 minutes ago", or a date.
func FormatAgo(t *time.Time, now time.Time) string {
	if t == nil {
		return "Never"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return "Just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return FormatDate(t)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// AtLimit reports whether the owner holds as many tokens as they may.
func (v TokenListView) AtLimit() bool { return v.Limit > 0 && v.Total >= v.Limit }

// LimitReason explains why no more tokens can be created.
func (v TokenListView) LimitReason() string {
	if v.Quota != nil && v.Quota.Reason != "" {
		return v.Quota.Reason
	}
	return "The limit of " + strconv.Itoa(v.Limit) + " tokens is reached; delete a token you no longer use first."
}
