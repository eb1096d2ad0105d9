package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// TestReadBody checks the one body reader: a body within the limit is returned (never nil), and
// a longer one is refused with the code its caller chose (400 for JSON, 413 for KV quotas).
func TestReadBody(t *testing.T) {
	cases := []struct {
		body  string
		limit int64
		over  errs.Code
		want  errs.Code // "" for success
	}{
		{"", 10, errs.Invalid, ""},
		{"0123456789", 10, errs.Invalid, ""},
		{"0123456789x", 10, errs.Invalid, errs.Invalid},
		{"0123456789x", 10, errs.TooLarge, errs.TooLarge},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
		got, err := readBody(httptest.NewRecorder(), r, c.limit, c.over)
		if c.want == "" {
			if err != nil || got == nil || string(got) != c.body {
				t.Errorf("%q limit %d: %q, %v", c.body, c.limit, got, err)
			}
			continue
		}
		if errs.CodeOf(err) != c.want || !strings.Contains(errs.MessageOf(err), "larger than 10 bytes") {
			t.Errorf("%q limit %d: %v, want %s", c.body, c.limit, err, c.want)
		}
	}
}

// TestDecodeBytesSpeaksJSON checks that decoding errors name JSON kinds and fields, never the
// API's Go types.
func TestDecodeBytesSpeaksJSON(t *testing.T) {
	var obj struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Count int      `json:"count"`
	}
	var list []string
	cases := []struct {
		body string
		v    any
		want string
	}{
		{`[]`, &obj, "The request body has the wrong type: expected an object."},
		{`{}`, &list, "The request body has the wrong type: expected an array."},
		{`{"name": 5}`, &obj, "name has the wrong type: expected a string."},
		{`{"tags": "x"}`, &obj, "tags has the wrong type: expected an array."},
		{`{"count": 1.5}`, &obj, "count has the wrong type: expected a whole number."},
		{`   `, &obj, "The request body is empty; it must be JSON."},
	}
	for _, c := range cases {
		err := decodeBytes([]byte(c.body), c.v, false)
		if errs.CodeOf(err) != errs.Invalid || errs.MessageOf(err) != c.want {
			t.Errorf("%s: %q, want %q", c.body, errs.MessageOf(err), c.want)
		}
	}
	if err := decodeBytes(nil, &obj, true); err != nil {
		t.Errorf("empty body with emptyOK: %v", err)
	}
}

// TestPagingClamps checks that a page size outside an endpoint's range is clamped into it, never
// refused, while malformed numbers and pages are refused naming the parameter.
func TestPagingClamps(t *testing.T) {
	cases := []struct {
		query       string
		page, per   int
		asc         bool
		wantInvalid string // the field named by the error, "" for success
	}{
		{"", 1, 20, false, ""},
		{"per_page=1", 1, 5, false, ""},
		{"per_page=5", 1, 5, false, ""},
		{"per_page=50", 1, 50, false, ""},
		{"per_page=51", 1, 50, false, ""},
		{"per_page=100000", 1, 50, false, ""},
		{"per_page=0", 1, 5, false, ""},
		{"per_page=-3", 1, 5, false, ""},
		{"page=3&per_page=7&direction=asc", 3, 7, true, ""},
		{"direction=DESC", 1, 20, false, ""},
		{"per_page=x", 0, 0, false, "per_page"},
		{"per_page=1.5", 0, 0, false, "per_page"},
		{"page=0", 0, 0, false, "page"},
		{"page=x", 0, 0, false, "page"},
		{"page=1000001", 0, 0, false, "page"},
		{"direction=up", 0, 0, false, "direction"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/?"+c.query, nil)
		page, per, asc, err := paging(r, 20, 5, 50)
		if c.wantInvalid != "" {
			if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != c.wantInvalid {
				t.Errorf("%s: %v, want Invalid on %s", c.query, err, c.wantInvalid)
			}
			continue
		}
		if err != nil || page != c.page || per != c.per || asc != c.asc {
			t.Errorf("%s: page %d per_page %d asc %v (%v), want %d %d %v", c.query, page, per, asc, err, c.page, c.per, c.asc)
		}
	}
}

// TestZoneListFilter is the grammar of GET /zones: name and account.name take "operator:value"
// with Cloudflare's operators, order and match take their documented values, and anything else
// is refused naming the parameter rather than ignored.
func TestZoneListFilter(t *testing.T) {
	cases := []struct {
		query       string
		want        store.ZoneFilter
		wantInvalid string
	}{
		{"", store.ZoneFilter{Limit: 20}, ""},
		{"name=example.com.", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameEqual, Value: "example.com"}, Limit: 20}, ""},
		{"name=equal:example.com", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameEqual, Value: "example.com"}, Limit: 20}, ""},
		{"name=not_equal:example.com", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameNotEqual, Value: "example.com"}, Limit: 20}, ""},
		{"name=starts_with:ex", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameStartsWith, Value: "ex"}, Limit: 20}, ""},
		{"name=ends_with:.com", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameEndsWith, Value: ".com"}, Limit: 20}, ""},
		{"name=contains:amp", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameContains, Value: "amp"}, Limit: 20}, ""},
		{"name=starts_with_case_sensitive:Ex", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameStartsWithCaseSensitive, Value: "Ex"}, Limit: 20}, ""},
		{"name=ends_with_case_sensitive:M", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameEndsWithCaseSensitive, Value: "M"}, Limit: 20}, ""},
		{"name=contains_case_sensitive:aM", store.ZoneFilter{NameMatch: store.NameMatch{Op: store.NameContainsCaseSensitive, Value: "aM"}, Limit: 20}, ""},
		{"account.name=contains:Team", store.ZoneFilter{AccountName: store.NameMatch{Op: store.NameContains, Value: "Team"}, Limit: 20}, ""},
		{"status=pending&match=any", store.ZoneFilter{Status: "pending", MatchAny: true, Limit: 20}, ""},
		{"order=account.name&direction=desc", store.ZoneFilter{Order: "account.name", Desc: true, Limit: 20}, ""},
		{"order=status&direction=asc&page=2&per_page=1", store.ZoneFilter{Order: "status", Offset: 5, Limit: 5}, ""},
		{"name=regex:x", store.ZoneFilter{}, "name"},
		{"name=contains:", store.ZoneFilter{}, "name"},
		{"account.name=like:x", store.ZoneFilter{}, "account.name"},
		{"status=paused", store.ZoneFilter{}, "status"},
		{"match=some", store.ZoneFilter{}, "match"},
		{"order=created_on", store.ZoneFilter{}, "order"},
		{"direction=sideways", store.ZoneFilter{}, "direction"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/zones?"+c.query, nil)
		f, _, _, err := zoneListFilter(r)
		if c.wantInvalid != "" {
			if e := errs.As(err); e == nil || e.Code != errs.Invalid || e.Field != c.wantInvalid {
				t.Errorf("%s: %v, want Invalid on %s", c.query, err, c.wantInvalid)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(f, c.want) {
			t.Errorf("%s: %+v (%v), want %+v", c.query, f, err, c.want)
		}
	}
}
