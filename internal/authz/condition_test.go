package authz

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestConditionJSON(t *testing.T) {
	for _, in := range []string{
		`{"request.ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]}}`,
		`{"request_ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]}}`,
		`{"request.ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]},"request_ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]}}`,
		`{"request_ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]},"other":1}`,
	} {
		var c Condition
		if err := json.Unmarshal([]byte(in), &c); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		want := &IPCondition{In: []string{"192.0.2.0/24"}, NotIn: []string{"192.0.2.7"}}
		if !reflect.DeepEqual(c.RequestIP, want) {
			t.Errorf("%s: got %+v", in, c.RequestIP)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		const both = `{"request.ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]},"request_ip":{"in":["192.0.2.0/24"],"not_in":["192.0.2.7"]}}`
		if string(out) != both {
			t.Errorf("Marshal = %s", out)
		}
		if out, _ := json.Marshal(&c); string(out) != both {
			t.Errorf("Marshal(pointer) = %s", out)
		}
	}
	var c Condition
	if err := json.Unmarshal([]byte(`{"request.ip":{"in":["192.0.2.0/24"]},"request_ip":{"in":["198.51.100.0/24"]}}`), &c); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("conflicting keys: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"request.ip":{"in":"192.0.2.0/24"}}`), &c); err == nil {
		t.Error("a string for a list was accepted")
	}
	c = Condition{}
	if err := json.Unmarshal([]byte(`{}`), &c); err != nil || c.RequestIP != nil {
		t.Errorf("empty condition: %+v, %v", c, err)
	}
	if out, _ := json.Marshal(Condition{}); string(out) != `{}` {
		t.Errorf("Marshal(empty) = %s", out)
	}
	// Inside a token object.
	var tok struct {
		Condition *Condition `json:"condition,omitempty"`
	}
	if err := json.Unmarshal([]byte(`{"condition":{"request_ip":{"not_in":["10.0.0.0/8"]}}}`), &tok); err != nil || tok.Condition.RequestIP.NotIn[0] != "10.0.0.0/8" {
		t.Errorf("token condition: %+v, %v", tok.Condition, err)
	}
}

func TestParseCondition(t *testing.T) {
	ipc := func(in, notIn []string) *Condition { return &Condition{RequestIP: &IPCondition{In: in, NotIn: notIn}} }
	errs := []struct {
		c     *Condition
		field string
	}{
		{ipc([]string{"192.0.2.0/24", "10.0.0.0/8", "nope"}, nil), "condition.request_ip.in[2]"},
		{ipc(nil, []string{"192.0.2.0/33"}), "condition.request_ip.not_in[0]"},
		{ipc([]string{""}, nil), "condition.request_ip.in[0]"},
		{ipc([]string{"fe80::1%eth0"}, nil), "condition.request_ip.in[0]"},
		{ipc([]string{"192.0.2.1 "}, nil), "condition.request_ip.in[0]"},
		{ipc([]string{"2001:db8::/129"}, nil), "condition.request_ip.in[0]"},
	}
	for _, tt := range errs {
		_, err := ParseCondition(tt.c)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("ParseCondition(%+v) = %v, want field %s", tt.c.RequestIP, err, tt.field)
		}
	}
	for _, c := range []*Condition{nil, {}, ipc(nil, nil), ipc([]string{}, []string{})} {
		r, err := ParseCondition(c)
		if r != nil || err != nil {
			t.Errorf("ParseCondition(%+v) = %v, %v; want nil rules", c, r, err)
		}
	}
	r, err := ParseCondition(ipc([]string{"192.0.2.9", "2001:db8::1", "10.1.2.3/8", "::ffff:198.51.100.0/120", "192.0.2.9/32"}, []string{"10.9.0.0/16"}))
	if err != nil {
		t.Fatal(err)
	}
	want := &Condition{RequestIP: &IPCondition{In: []string{"10.0.0.0/8", "192.0.2.9/32", "198.51.100.0/24", "2001:db8::1/128"}, NotIn: []string{"10.9.0.0/16"}}}
	if got := r.Condition(); !reflect.DeepEqual(got, want) {
		t.Errorf("normalised = %+v, want %+v", got.RequestIP, want.RequestIP)
	}
	if len(r.In()) != 4 || len(r.NotIn()) != 1 || (*IPRules)(nil).In() != nil || (*IPRules)(nil).Condition() != nil {
		t.Error("accessors")
	}
}

func TestIPRulesAllows(t *testing.T) {
	rules := func(in, notIn []string) *IPRules {
		t.Helper()
		r, err := ParseCondition(&Condition{RequestIP: &IPCondition{In: in, NotIn: notIn}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		r    *IPRules
		ip   string // "" for the zero Addr
		want bool
	}{
		{nil, "192.0.2.1", true},
		{nil, "", true},
		{&IPRules{}, "192.0.2.1", true},
		{rules([]string{"192.0.2.0/24"}, nil), "192.0.2.200", true},
		{rules([]string{"192.0.2.0/24"}, nil), "192.0.3.1", false},
		{rules([]string{"192.0.2.0/24"}, nil), "2001:db8::1", false},
		{rules([]string{"192.0.2.0/24"}, nil), "::ffff:192.0.2.5", true}, // IPv4-mapped counts as IPv4
		{rules([]string{"192.0.2.0/24"}, nil), "", false},
		{rules([]string{"192.0.2.0/24"}, []string{"192.0.2.7"}), "192.0.2.7", false},
		{rules([]string{"192.0.2.0/24"}, []string{"192.0.2.7"}), "192.0.2.8", true},
		{rules(nil, []string{"10.0.0.0/8"}), "10.200.0.1", false},
		{rules(nil, []string{"10.0.0.0/8"}), "11.0.0.1", true},
		{rules(nil, []string{"10.0.0.0/8"}), "2001:db8::1", true},
		{rules(nil, []string{"10.0.0.0/8"}), "", false},
		{rules(nil, []string{"fe80::/10"}), "fe80::1%eth0", false}, // a zone does not slip past not_in
		{rules([]string{"2001:db8::/32"}, nil), "2001:db8:ffff::1", true},
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		if got := tt.r.Allows(ip); got != tt.want {
			t.Errorf("%+v.Allows(%q) = %v, want %v", tt.r.Condition(), tt.ip, got, tt.want)
		}
	}
}

func TestIPSubset(t *testing.T) {
	rules := func(in, notIn []string) *IPRules {
		t.Helper()
		r, err := ParseCondition(&Condition{RequestIP: &IPCondition{In: in, NotIn: notIn}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	l := func(s ...string) []string { return s }
	tests := []struct {
		name          string
		child, parent *IPRules
		want          bool
	}{
		{"nil parent", rules(l("192.0.2.0/24"), nil), nil, true},
		{"nil both", nil, nil, true},
		{"nil child, restricted parent", nil, rules(l("192.0.2.0/24"), nil), false},
		{"nil child, parent allowing everything", nil, rules(l("0.0.0.0/0", "::/0"), nil), true},
		{"nil child, parent allowing all IPv4", nil, rules(l("0.0.0.0/0"), nil), false},
		{"narrower in", rules(l("192.0.2.0/25"), nil), rules(l("192.0.2.0/24"), nil), true},
		{"wider in", rules(l("192.0.0.0/16"), nil), rules(l("192.0.2.0/24"), nil), false},
		{"in split over two parents", rules(l("192.0.2.0/24"), nil), rules(l("192.0.2.0/25", "192.0.2.128/25"), nil), true},
		{"in over adjacent but not covering", rules(l("192.0.2.0/23"), nil), rules(l("192.0.2.0/24", "192.0.4.0/24"), nil), false},
		{"parent not_in carved out by child not_in", rules(l("10.0.0.0/8"), l("10.1.0.0/16")), rules(l("10.0.0.0/8"), l("10.1.2.0/24")), true},
		{"parent not_in not carved out", rules(l("10.0.0.0/8"), l("10.1.2.0/25")), rules(l("10.0.0.0/8"), l("10.1.2.0/24")), false},
		{"child only not_in vs parent only not_in", rules(nil, l("10.0.0.0/8")), rules(nil, l("10.1.0.0/16")), true},
		{"child only not_in vs parent in", rules(nil, l("10.0.0.0/8")), rules(l("192.0.2.0/24"), nil), false},
		{"child empty set", rules(l("192.0.2.0/24"), l("192.0.0.0/16")), rules(l("198.51.100.0/24"), nil), true},
		{"v6", rules(l("2001:db8:1::/48"), nil), rules(l("2001:db8::/32"), l("2001:db8:2::/48")), true},
		{"v6 hole", rules(l("2001:db8::/32"), nil), rules(l("2001:db8::/32"), l("2001:db8:2::/48")), false},
		{"v6 child vs v4 parent", rules(l("2001:db8::1"), nil), rules(l("192.0.2.0/24"), nil), false},
		{"edges of the space", rules(l("255.255.255.255", "0.0.0.0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), nil), rules(nil, l("1.0.0.0/8", "::1")), true},
		{"mapped v4 is v4", rules(l("::ffff:192.0.2.1"), nil), rules(l("192.0.2.0/24"), nil), true},
	}
	for _, tt := range tests {
		if got := IPSubset(tt.child, tt.parent); got != tt.want {
			t.Errorf("%s: IPSubset = %v, want %v", tt.name, got, tt.want)
		}
	}
}
