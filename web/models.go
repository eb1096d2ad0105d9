// Package web holds the dashboard's templ views and the view models they render. Views only
// format what a handler gives them: they do no I/O and import neither GORM nor the handlers.
package web

import (
	"html"
	"strconv"
	"strings"
	"time"
)

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashError   = "error"
)

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string
	Message string
}

// User is the signed-in user as the layout shows them.
type User struct {
	ID    string
	Email string
	Name  string
}

// DisplayName is the user's name, or their email when they gave none.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Initial is the letter shown in the user's avatar.
func (u User) Initial() string {
	s := strings.TrimSpace(u.DisplayName())
	for _, r := range s {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// Account is one account in the account switcher.
type Account struct {
	ID   string
	Name string
}

// Page is what the layout needs on every page.
type Page struct {
	// Title is the page's own title; the layout appends the product name.
	Title string
	// User is nil on pages for signed-out visitors.
	User *User
	// Accounts lists the user's accounts for the switcher; CurrentAccount is the selected one.
	Accounts       []Account
	CurrentAccount *Account
	Flashes        []Flash
	// Section names the active navigation item, e.g. "zones".
	Section string
	// Path is the current request's path, where the account switcher returns to.
	Path string
	// AccountPages shows the members and audit log links: the user may read the current
	// account's settings.
	AccountPages bool
	// BillingPage shows the billing link: billing is on and the user has Billing Read.
	BillingPage bool
	// KVPage shows the Workers KV link: the user may read the account's KV namespaces.
	KVPage bool
	// Banner is a warning shown above every page (a failed payment, to Billing Read members).
	Banner string
	// BannerURL is where the banner's link goes.
	BannerURL string
}

// Form carries a submitted form back to its page: the user's input and the messages for each
// field (keyed by the field's name), plus an error about the form as a whole.
type Form struct {
	Values map[string]string
	Errors map[string]string
	Error  string
}

// Value returns the submitted value of a field.
func (f Form) Value(name string) string { return f.Values[name] }

// ErrorFor returns the message for a field, or "".
func (f Form) ErrorFor(name string) string { return f.Errors[name] }

// Field describes one labelled text input.
type Field struct {
	Name         string
	Label        string
	Type         string
	Value        string
	Error        string
	Hint         string
	Placeholder  string
	Autocomplete string
	Required     bool
	Autofocus    bool
}

// ID is the input's element id.
func (f Field) ID() string { return "field-" + f.Name }

// SignUpView is the sign-up page.
type SignUpView struct {
	Form Form
	// MinPasswordLength is shown as a hint under the password field.
	MinPasswordLength int
	// Next is where to go after signing up (a same-site path, e.g. an invitation to accept).
	Next string
}

// SignInView is the sign-in page.
type SignInView struct {
	Form Form
	// Next is where to go after signing in (a same-site path), carried in a hidden field.
	Next string
}

// Zone is one row of the zones list.
type Zone struct {
	ID        string
	Name      string
	Status    string
	Paused    bool
	CreatedAt time.Time
	// CanDNS and CanPurge link to the zone's DNS records and cache purge pages.
	CanDNS, CanPurge bool
	// ReadOnly marks a zone beyond its account's plan limit (billing.Limits.OverLimitZones):
	// it can be read and deleted, not changed.
	ReadOnly bool
}

// StatusLabel is the status as shown in the badge.
func (z Zone) StatusLabel() string {
	if z.Paused {
		return "Paused"
	}
	if z.Status == "" {
		return "Unknown"
	}
	return strings.ToUpper(z.Status[:1]) + z.Status[1:]
}

// Created formats the creation date.
func (z Zone) Created() string { return z.CreatedAt.UTC().Format("Jan 2, 2006") }

// CreatedISO is the creation time for a <time datetime> attribute.
func (z Zone) CreatedISO() string { return z.CreatedAt.UTC().Format(time.RFC3339) }

// Pagination describes where a list page sits in the whole list.
type Pagination struct {
	Page, PerPage int
	Total         int64
	// PrevURL and NextURL are empty at either end.
	PrevURL, NextURL string
}

// First is the 1-based number of the first item shown.
func (p Pagination) First() int64 {
	if p.Total == 0 {
		return 0
	}
	return int64((p.Page-1)*p.PerPage) + 1
}

// Last is the 1-based number of the last item shown.
func (p Pagination) Last() int64 {
	return min(int64(p.Page*p.PerPage), p.Total)
}

// ZonesView is the zones page.
type ZonesView struct {
	AccountName string
	Zones       []Zone
	Pagination  Pagination
	// CanWrite shows the add form and the delete buttons.
	CanWrite bool
	// Form is the add-zone form, with errors after a failed submission.
	Form Form
	// Quota is the plan's zone limit; nil when billing is off.
	Quota *Quota
}

// ZoneDeleteView is the page that asks to confirm a zone's deletion.
type ZoneDeleteView struct {
	AccountName string
	Zone        Zone
}

// ErrorView is a full-page error (404, 403, 429, 500).
type ErrorView struct {
	Status  int
	Title   string
	Message string
}

// SignInTwoFactorView is the second step of signing in: a code from the authenticator app or a
// recovery code.
type SignInTwoFactorView struct {
	Form Form
}

// TwoFactorView is the two-factor page of the profile.
type TwoFactorView struct {
	Enabled   bool
	EnabledAt string
	// CodesLeft counts the unused recovery codes.
	CodesLeft int64
	// Setup is the QR code and secret while two-factor is being turned on.
	Setup *TwoFactorSetup
	// RecoveryCodes are shown once, right after two-factor was turned on or the codes renewed.
	RecoveryCodes []string
	// Renewed: RecoveryCodes replace earlier codes, which no longer work.
	Renewed bool
	Form    Form
	// RequiredBy names the user's accounts that require two-factor sign-in while it is off.
	RequiredBy []string
}

// TwoFactorSetup is a secret being set up: its QR code (a data: URL) and its text.
type TwoFactorSetup struct {
	QR     string
	Secret string
}

// fmtInt formats n in decimal.
func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// AccountSettingsView is the current account's settings page: its name and whether members must
// use two-factor sign-in.
type AccountSettingsView struct {
	ID               string
	Name             string
	EnforceTwofactor bool
	CanWrite         bool
	Form             Form
}

// ProfileView is the profile page: name, email address, password.
type ProfileView struct {
	Email        string
	NameForm     Form
	EmailForm    Form
	PasswordForm Form
	TwoFactorOn  bool
	// MailOff: email changes need mail, which is not configured.
	MailOff bool
}

// SessionRow is one signed-in browser of the user.
type SessionRow struct {
	IP, Browser, Created, LastSeen string
	Current                        bool
}

// SessionsView lists the user's sessions.
type SessionsView struct {
	Sessions []SessionRow
}

// NoticeView is a page for signed-out visitors that says one thing (e.g. "check your email").
type NoticeView struct {
	Heading string
	Message string
	// Action, Token and Button, when Action is set, add a form that posts the token (a link
	// from a mail is confirmed with a button, so that mail scanners opening it change nothing).
	Action, Token, Button string
}

// ForgotPasswordView asks for the address to send a reset link to.
type ForgotPasswordView struct {
	Form Form
}

// ResetPasswordView asks for a new password; Token is the link's secret, carried in the form.
type ResetPasswordView struct {
	Form  Form
	Token string
}

// AccountRow is one of the user's accounts on the accounts page.
type AccountRow struct {
	ID, Name, Role string
	Current        bool
}

// AccountsView lists the user's accounts, with leave buttons and a form to create one.
type AccountsView struct {
	Accounts []AccountRow
	Form     Form
}

// dnsNameHTML is name, HTML-escaped label by label, with a <wbr> after each dot.
func dnsNameHTML(name string) string {
	labels := strings.Split(name, ".")
	for i, l := range labels {
		labels[i] = html.EscapeString(l)
	}
	return strings.Join(labels, ".<wbr>")
}
