package web

// HomeItem is one recent item of an account home card: a label, a note and a link.
type HomeItem struct {
	Label, Note, URL string
}

// HomeCard is one card of the account home: a count, a few items and the link to the full list.
// Shown is false when the user may not see that list.
type HomeCard struct {
	Title   string
	Shown   bool
	Count   int64
	Items   []HomeItem
	MoreURL string
	// Empty is what the card says when Count is 0.
	Empty string
}

// HomeUsage is one line of plan usage: what, used and the limit ("no limit" when none).
type HomeUsage struct {
	Label, Used, Limit string
}

// HomeView is the account home: the account's zones, members and tokens at a glance, and its
// plan and usage when billing is on and the user may read it.
type HomeView struct {
	AccountName string
	Cards       []HomeCard
	// Plan is the plan's name, "" when not shown.
	Plan  string
	Usage []HomeUsage
}
