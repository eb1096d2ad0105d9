package web

// ZonePicker is a searched zone picker: a search box that asks SearchURL for one page of the
// zones the user may see whose names start with what was typed, and the chosen zones as ticked
// checkboxes ("chips") that post their ids in Field, the field the handlers already read.
// Without JavaScript the search box is a plain text field (NamesField) for zone names, which
// the server resolves, and unticking a chip removes its zone.
type ZonePicker struct {
	// ID is the id of the list of chosen zones (which an error describes); the search box is
	// ID+"-search" and the list of matches ID+"-results".
	ID string
	// Field is the form field each chosen zone posts its id in; NamesField the field of the
	// search box, whose typed names the server resolves when the form is sent.
	Field, NamesField string
	// Label names the picker; LabelSuffix is read only by screen readers, e.g. "(row 2)".
	Label, LabelSuffix string
	// SearchURL answers GET SearchURL&q=… with a ZoneSearchView fragment.
	SearchURL string
	// Chosen are the chosen zones (Value is the id, Label the name).
	Chosen []Option
	// Names is what was typed in the search box, kept when the form comes back with an error.
	Names string
	// Single keeps at most one zone: choosing another replaces it. AutoSubmit submits the form
	// once a zone is chosen (the token list's filter).
	Single, AutoSubmit bool
	// Error is the field's error; Hint is shown when there is none.
	Error, Hint string
}

// SearchID is the id of the picker's search box.
func (z ZonePicker) SearchID() string { return z.ID + "-search" }

// ResultsID is the id of the element the matches are swapped into.
func (z ZonePicker) ResultsID() string { return z.ID + "-results" }

// Described is the search box's aria-describedby value: its error, or its hint.
func (z ZonePicker) Described() string {
	if z.Error != "" {
		return z.ID + "-error"
	}
	return z.ID + "-hint"
}

// HintText is the hint under the picker.
func (z ZonePicker) HintText() string {
	if z.Hint != "" {
		return z.Hint
	}
	if z.Single {
		return "Type the start of the zone's name and choose it from the list (without JavaScript: type its full name)."
	}
	return "Type the start of a zone's name and choose it from the list; untick a zone to remove it. Without JavaScript, type full names separated by commas."
}

// ZoneChoice is one zone a search found.
type ZoneChoice struct {
	ID, Name string
	// Account is the zone's account name, shown when the search spans several accounts.
	Account string
}

// ZoneSearchView is the answer to a zone picker's search: at most one page of matches.
type ZoneSearchView struct {
	Query string
	Zones []ZoneChoice
	// More says that more zones match than the page shows.
	More bool
	// Error says why the search could not run (bad input).
	Error string
}
