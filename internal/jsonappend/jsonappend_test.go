package jsonappend

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", "_acme-challenge.example.com", `"quoted"`, `back\slash`, "tab\tnew\nline\r",
		"\x00\x01\x1f", "<script>&amp;</script>", "ünïcødé", "emoji 🎉", "line\u2028sep\u2029", "bad \xff utf8",
		"v=spf1 include:_spf.example.com ~all", "\x7f del"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestStringNoHTMLMatchesEncoder(t *testing.T) {
	cases := []string{"", "plain", "A&B <Team>", `"q" \\ x`, "tab\t", "ü 🎉 \u2028", "bad \xff", "\x00"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := StringNoHTML(nil, s); string(got) != want {
			t.Errorf("StringNoHTML(%q) = %s, want %s", s, got, want)
		}
	}
	if got := string(StringsNoHTML(nil, []string{"a&b", "c"})); got != `["a&b","c"]` {
		t.Errorf("StringsNoHTML = %s", got)
	}
}

func TestTimeMatchesEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 29, 23, 1, 2, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
		{},
	} {
		want, err := json.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		if got := Time(nil, tm); string(got) != string(want) {
			t.Errorf("Time(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestObjectHelpers(t *testing.T) {
	b := []byte{'{'}
	b = Key(b, "a")
	b = Int(b, -12)
	b = Key(b, "b")
	b = Bool(b, true)
	b = Key(b, "c")
	b = Strings(b, nil)
	b = Key(b, "d")
	b = Strings(b, []string{"x", "<y>"})
	b = Key(b, "e")
	b, err := Value(b, map[string]any{"z": 1, "a": "q"})
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '}')
	want, _ := json.Marshal(map[string]any{"a": -12, "b": true, "c": []string{}, "d": []string{"x", "<y>"}, "e": map[string]any{"z": 1, "a": "q"}})
	var got, exp any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	_ = json.Unmarshal(want, &exp)
	if gs, es := mustJSON(got), mustJSON(exp); gs != es {
		t.Errorf("got %s, want %s", gs, es)
	}
	if _, err := Value(nil, func() {}); err == nil {
		t.Error("Value of a func: no error")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
