package web

import "strconv"

// KVNamespaceRow is one Workers KV namespace of the list.
type KVNamespaceRow struct {
	ID, Title string
}

// URL is the namespace's page.
func (n KVNamespaceRow) URL() string { return "/kv/" + n.ID }

// KVListView is the Workers KV page: the account's namespaces and the create form.
type KVListView struct {
	Namespaces []KVNamespaceRow
	Pagination Pagination
	// CanWrite shows the create form.
	CanWrite bool
	Form     Form
}

// KVKeyRow is one key of a namespace's listing.
type KVKeyRow struct {
	Name string
	// Expires is the expiry as people read it, "" when the key does not expire.
	Expires string
	// Metadata is the key's metadata JSON, "" when none.
	Metadata string
	// URL is the key's page.
	URL string
}

// KVNamespaceView is one namespace: its keys (by prefix, a page at a time), the put form and
// the rename form.
type KVNamespaceView struct {
	Namespace KVNamespaceRow
	Keys      []KVKeyRow
	// Prefix is the current key prefix filter.
	Prefix string
	// NextURL continues the listing ("" on the last page); FirstURL goes back to the first page
	// (set on later pages).
	NextURL, FirstURL string
	CanWrite          bool
	// PutForm is the put-a-value form; RenameForm the rename form.
	PutForm, RenameForm Form
}

// KVKeyView shows one key's value and metadata.
type KVKeyView struct {
	Namespace KVNamespaceRow
	Key       string
	// Value is the value as text; Binary is set when it is not UTF-8 text (Value is then empty).
	Value  string
	Binary bool
	Size   int
	// Metadata is the metadata JSON, "" when none; Expires as in KVKeyRow.
	Metadata, Expires string
	CanWrite          bool
	// DeleteURL is where the key's delete confirmation is.
	DeleteURL string
}

// KVConfirmView asks to confirm deleting a namespace (Key empty) or one key.
type KVConfirmView struct {
	Namespace KVNamespaceRow
	Key       string
	// Action is where the confirmation posts; CancelURL where Cancel goes.
	Action, CancelURL string
}

func rowsAttr(n int) string { return strconv.Itoa(n) }

// sizeLabel is a byte count as people read it.
func sizeLabel(n int) string {
	switch {
	case n < 1024:
		return strconv.Itoa(n) + " bytes"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
}
