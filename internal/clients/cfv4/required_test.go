package cfv4_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v4/zones"
)

// requiredFields walks a value the SDK decoded and reports every field its struct tags mark
// required that the JSON lacked (or sent as null without marking it nullable), and every field
// whose JSON had the wrong type, using the SDK's own JSON metadata (the JSON field of each
// response struct, whose apijson.Field values know IsMissing, IsNull and IsInvalid).
type requiredFields struct {
	problems []string
	objects  int
}

func (c *requiredFields) walk(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			c.walk(v.Elem(), path)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			c.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			c.walk(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		if m := v.MethodByName("AsUnion"); m.IsValid() && m.Type().NumIn() == 0 {
			c.walk(m.Call(nil)[0], path)
		}
		meta := v.FieldByName("JSON")
		if !meta.IsValid() || meta.Kind() != reflect.Struct {
			return
		}
		c.objects++
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "JSON" {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			at := path + "." + name
			if f.Anonymous {
				c.walk(v.Field(i), path)
				continue
			}
			if m := meta.FieldByName(f.Name); m.IsValid() {
				missing := m.MethodByName("IsMissing").Call(nil)[0].Bool()
				null := m.MethodByName("IsNull").Call(nil)[0].Bool()
				invalid := m.MethodByName("IsInvalid").Call(nil)[0].Bool()
				required := strings.Contains(","+opts+",", ",required,")
				nullable := strings.Contains(","+opts+",", ",nullable,")
				switch {
				case required && missing:
					c.problems = append(c.problems, at+": required, missing")
				case required && null && !nullable:
					c.problems = append(c.problems, at+": required, null")
				case invalid:
					c.problems = append(c.problems, fmt.Sprintf("%s: invalid JSON for %s: %s", at, f.Type, m.MethodByName("Raw").Call(nil)[0]))
				}
			}
			c.walk(v.Field(i), at)
		}
	}
}

// checkRequired fails the test if any object in v lacks a field the SDK requires.
func checkRequired(t *testing.T, what string, v any) {
	t.Helper()
	var c requiredFields
	c.walk(reflect.ValueOf(v), what)
	if c.objects == 0 {
		t.Errorf("%s: no SDK object to check in %T", what, v)
	}
	for _, p := range c.problems {
		t.Errorf("%s", p)
	}
}

// TestRequiredFieldsCheckFindsGaps: the walker reports a zone object without its required
// fields, and one with a field of the wrong type, so a passing suite means something.
func TestRequiredFieldsCheckFindsGaps(t *testing.T) {
	var z zones.Zone
	if err := json.Unmarshal([]byte(`{"id":"x","name":"example.com","paused":"no"}`), &z); err != nil {
		t.Fatal(err)
	}
	var c requiredFields
	c.walk(reflect.ValueOf(z), "zone")
	joined := strings.Join(c.problems, "\n")
	for _, want := range []string{"zone.name_servers: required, missing", "zone.account: required, missing", "zone.paused: invalid JSON"} {
		if !strings.Contains(joined, want) {
			t.Errorf("walker missed %q; found:\n%s", want, joined)
		}
	}
}
