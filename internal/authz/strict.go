package authz

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The field names a policy, a condition and their parts may carry. Matching is exact (Go's JSON
// decoder alone would accept "Effect" for "effect", and drop anything it does not know).
var (
	policyFields     = []string{"id", "effect", "resources", "permission_groups", "dns_records"}
	groupRefFields   = []string{"id", "name", "meta", "scopes"}
	dnsRecordFields  = []string{"names", "types"}
	conditionFields  = []string{"request.ip", "request_ip"}
	ipConditionField = []string{"in", "not_in"}
)

// StrictToken checks the parts of a token body that change what a token may do, "policies" and
// "condition", for fields Latchkey does not know, before the body is decoded. Go's decoder drops
// unknown fields, so a misplaced field would silently change a token's meaning: a "condition"
// written inside a policy instead of beside "policies" would yield a token usable from anywhere.
// Other top-level fields are left to the caller (clients re-send read-only ones such as "id" and
// "issued_on"). It returns a *ValidationError whose Field is the path of the offending member,
// such as policies[0].condition, or nil. Malformed JSON and wrong types are left to the decoder.
func StrictToken(body []byte) error {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	if raw, ok := top["policies"]; ok {
		if err := strictPolicies("policies", raw); err != nil {
			return err
		}
	}
	if raw, ok := top["condition"]; ok {
		return strictCondition("condition", raw)
	}
	return nil
}

// StrictPolicies is StrictToken for a bare JSON array of policies (the CLI's policies file).
// Fields are named from the array, as "[0].condition".
func StrictPolicies(raw []byte) error {
	return strictPolicies("", raw)
}

func strictPolicies(path string, raw json.RawMessage) error {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	for i, p := range list {
		pp := path + "[" + strconv.Itoa(i) + "]"
		obj, ok := object(p)
		if !ok {
			continue
		}
		if err := known(pp, obj, policyFields, policyHint); err != nil {
			return err
		}
		if err := strictResources(pp+".resources", obj["resources"]); err != nil {
			return err
		}
		var groups []json.RawMessage
		if json.Unmarshal(obj["permission_groups"], &groups) == nil {
			for j, g := range groups {
				if o, ok := object(g); ok {
					if err := known(pp+".permission_groups["+strconv.Itoa(j)+"]", o, groupRefFields, nil); err != nil {
						return err
					}
				}
			}
		}
		if o, ok := object(obj["dns_records"]); ok {
			if err := known(pp+".dns_records", o, dnsRecordFields, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// strictResources checks that a resources map holds no null values and that nested maps hold
// nothing but strings; which keys are allowed is ParsePolicies' job, as it already refuses
// unknown ones. JSON lets a key appear twice, and Go keeps the last: a duplicate key is refused
// so that no reader sees a different resource than the one Latchkey enforces.
func strictResources(path string, raw json.RawMessage) error {
	if err := noDuplicateKeys(path, raw); err != nil {
		return err
	}
	obj, ok := object(raw)
	if !ok {
		return nil
	}
	for _, k := range sortedKeys(obj) {
		if err := noDuplicateKeys(path+"["+strconv.Quote(k)+"]", obj[k]); err != nil {
			return err
		}
	}
	return nil
}

func strictCondition(path string, raw json.RawMessage) error {
	obj, ok := object(raw)
	if !ok {
		return nil
	}
	if err := known(path, obj, conditionFields, conditionHint); err != nil {
		return err
	}
	for _, k := range conditionFields {
		if o, ok := object(obj[k]); ok {
			if err := known(path+"["+strconv.Quote(k)+"]", o, ipConditionField, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func policyHint(field string) string {
	switch field {
	case "condition":
		return `; a token's condition goes at the top level of the token, beside "policies", not inside a policy`
	case "not_before", "expires_on", "name", "status":
		return `; "` + field + `" belongs to the token, beside "policies"`
	}
	return ""
}

func conditionHint(field string) string {
	if field == "in" || field == "not_in" {
		return `; write {"request.ip": {"` + field + `": [...]}}`
	}
	return ""
}

// known returns a *ValidationError naming the first member of obj (in sorted order) that is not in
// fields.
func known(path string, obj map[string]json.RawMessage, fields []string, hint func(string) string) error {
	for _, k := range sortedKeys(obj) {
		if slices.Contains(fields, k) {
			continue
		}
		msg := "unknown field " + strconv.Quote(k) + "; expected one of " + strings.Join(fields, ", ")
		if hint != nil {
			msg += hint(k)
		}
		return invalid(path+"["+strconv.Quote(k)+"]", msg)
	}
	return nil
}

func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	return obj, true
}

// noDuplicateKeys refuses an object (raw, if it is one) that names a key twice at its top level.
func noDuplicateKeys(path string, raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		if seen[k] {
			return invalid(path+"["+strconv.Quote(k)+"]", "the key "+strconv.Quote(k)+" appears twice")
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
