package input

import (
	"net/url"
	"testing"
	"time"
)

func TestJSON(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"a":"b"}`:             true,
		`{"a":"\\u0000"}`:       true, // a backslash, then the text u0000
		`{"a":"\\\\\u0000"}`:    false,
		`{"a":"\u0000"}`:        false,
		`{"a\u0000":1}`:         false,
		`{"a":"\u00001"}`:       false,
		`{"a":"\u0001"}`:        true,
		"{\"a\":\"\xff\"}":      false,
		`{"a":"\u00e9", "b":1}`: true,
		`\`:                     true, // not JSON: the decoder says so
	} {
		if err := JSON([]byte(body)); (err == nil) != ok {
			t.Errorf("JSON(%s) = %v, want ok %v", body, err, ok)
		}
	}
}

func TestTimes(t *testing.T) {
	type inner struct {
		At *time.Time `json:"at"`
	}
	type body struct {
		ExpiresOn *time.Time         `json:"expires_on"`
		Items     []inner            `json:"items"`
		ByName    map[string]inner   `json:"by_name"`
		Raw       []byte             `json:"raw"`
		Any       any                `json:"any"`
		Set       map[string]*string `json:"set"`
	}
	ok := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	late := time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -3600))
	early := time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]struct {
		v     any
		field string
	}{
		"fine":           {body{ExpiresOn: &ok, Items: []inner{{At: &ok}}}, ""},
		"top":            {&body{ExpiresOn: &late}, "expires_on"},
		"in a slice":     {body{Items: []inner{{At: &ok}, {At: &early}}}, "at"},
		"in a map":       {body{ByName: map[string]inner{"x": {At: &late}}}, "at"},
		"zero is absent": {body{ExpiresOn: &time.Time{}}, ""},
	} {
		err := Times(c.v)
		if (err == nil) != (c.field == "") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if Time("x", MaxTime) != nil || Time("x", MinTime) != nil || Time("x", MaxTime.Add(time.Second)) == nil {
		t.Error("bounds are inclusive")
	}
}

func TestValues(t *testing.T) {
	if err := Values(url.Values{"a": {"b", "c\x00"}}); err == nil {
		t.Error("NUL value accepted")
	}
	if err := Values(url.Values{"a\xff": {"b"}}); err == nil {
		t.Error("invalid UTF-8 name accepted")
	}
	if err := Values(url.Values{"a": {"é", ""}}); err != nil {
		t.Error(err)
	}
}
