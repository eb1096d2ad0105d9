package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
)

func TestWriteErrorMapsCodes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       int
		msg        string
		pointer    string
		hideDetail bool
	}{
		{"invalid field", errs.InvalidField("policies[0].effect", "must be allow or deny"), 400, 1004, "must be allow or deny", "/policies/0/effect", false},
		{"duplicate answers 400 as upstream", errs.E(errs.Conflict, "An identical record already exists.").WithAPICode(81057), 400, 81057, "An identical record already exists.", "", false},
		{"not found reads the same for every miss", errs.E(errs.NotFound, "zone 123 of account 456 not found"), 404, 7003, "Could not route to /client/v4/zones/x, perhaps your object identifier is invalid?", "", false},
		{"too large", errs.E(errs.TooLarge, "value too large"), 413, 1004, "value too large", "", false},
		{"internal errors hide their detail", errors.New("pq: relation secrets does not exist"), 500, 10001, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/client/v4/zones/x", nil)
			writeError(rec, r, slog.New(slog.NewTextHandler(io.Discard, nil)), tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
				t.Fatalf("Content-Type = %q", ct)
			}
			var env struct {
				Success  bool              `json:"success"`
				Errors   []json.RawMessage `json:"errors"`
				Messages []json.RawMessage `json:"messages"`
			}
			body := rec.Body.Bytes()
			if err := json.Unmarshal(body, &env); err != nil || env.Success || len(env.Errors) != 1 || env.Messages == nil {
				t.Fatalf("envelope %s (%v)", body, err)
			}
			var item struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Source  *struct {
					Pointer string `json:"pointer"`
				} `json:"source"`
			}
			json.Unmarshal(env.Errors[0], &item)
			if item.Code != tc.code {
				t.Fatalf("code = %d, want %d", item.Code, tc.code)
			}
			if tc.hideDetail {
				if item.Message == "" || strings.Contains(string(body), "pq:") || strings.Contains(string(body), "secrets") {
					t.Fatalf("internal detail leaked: %s", body)
				}
			} else if item.Message != tc.msg {
				t.Fatalf("message = %q, want %q", item.Message, tc.msg)
			}
			if tc.pointer != "" && (item.Source == nil || item.Source.Pointer != tc.pointer) {
				t.Fatalf("source = %+v, want pointer %s", item.Source, tc.pointer)
			}
		})
	}
}

// TestWriteResultJSONMatchesWriteResult holds the pre-encoded answer of hot lists byte-equal
// to writeResult's, with and without result_info, and checks a failing appender writes nothing.
func TestWriteResultJSONMatchesWriteResult(t *testing.T) {
	result := []map[string]any{{"id": "a-b", "n": 1}, {"id": "c", "n": 2}}
	for _, info := range []*ResultInfo{nil, {Page: 2, PerPage: 50, Count: 2, TotalCount: 52, TotalPages: 2}} {
		want := httptest.NewRecorder()
		writeResult(want, result, info)
		got := httptest.NewRecorder()
		err := writeResultJSON(got, info, func(b []byte) ([]byte, error) {
			m, err := json.Marshal(result)
			return append(b, m...), err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Body.String() != want.Body.String() || got.Code != want.Code {
			t.Errorf("info %v:\n got %d %s\nwant %d %s", info, got.Code, got.Body, want.Code, want.Body)
		}
		for _, h := range []string{"Content-Type", "Cache-Control"} {
			if got.Header().Get(h) != want.Header().Get(h) {
				t.Errorf("%s = %q, want %q", h, got.Header().Get(h), want.Header().Get(h))
			}
		}
	}
	rec := httptest.NewRecorder()
	err := writeResultJSON(rec, nil, func(b []byte) ([]byte, error) { return b, errors.New("boom") })
	if err == nil || rec.Body.Len() != 0 {
		t.Errorf("failing appender: err %v, body %q", err, rec.Body)
	}
}

// TestZoneAppendJSONMatchesEncoder holds the zones list's appender byte-equal to the API's
// encoder for zone objects using every optional part and escaping case.
func TestZoneAppendJSONMatchesEncoder(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 2, 3, 456000000, time.UTC)
	reg := "Registrar & <Co>"
	zs := []zoneJSON{
		{ID: "z1", Name: "example.com", Status: "active", Type: "full", Account: idName{ID: "a1", Name: "A&B <Team> \"q\" ü"},
			Permissions: []string{"#zone:read", "#dns_records:edit"}, Plan: idName{ID: "free", Name: "free"}, NameServers: []string{"ns1.example.net", "ns2.example.net"},
			CreatedOn: at, ModifiedOn: at.Add(time.Second), ActivatedOn: &at, Meta: zoneMeta{Step: 2}, Owner: zoneOwner{ID: "a1", Name: "A&B", Type: "organization"}},
		{ID: "z2", Name: "xn--bcher-kva.example", Status: "pending", Paused: true, Type: "full", Permissions: []string{}, CreatedOn: at, ModifiedOn: at,
			OriginalNameServers: []string{"x"}, OriginalRegistrar: &reg, OriginalDNSHost: &reg, DevelopmentMode: 7,
			Meta: zoneMeta{CDNOnly: true, CustomCertificateQuota: 1, DNSOnly: true, FoundationDNS: true, PageRuleQuota: 3, PhishingDetected: true, Step: 4}},
		{},
	}
	for i := range zs {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(zs[i]); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := string(zs[i].appendJSON(nil)); got != want {
			t.Errorf("zone %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
