package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/errs"
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
