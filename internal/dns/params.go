package dns

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
)

// DecodeParams reads a record from a JSON request body as cloudflare-go, lego, libdns and certbot
// send it. Fields Latchkey does not use (id, zone_id, settings, created_on, …) are ignored, and a
// null field counts as not sent (cloudflare-go sends "tags": null on every update). A field of
// the wrong JSON type is an Invalid error naming it.
func DecodeParams(body []byte) (Params, error) {
	var p Params
	if len(bytes.TrimSpace(body)) == 0 {
		return p, errs.E(errs.Invalid, "The request body is empty; send the record as a JSON object.")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return p, errs.E(errs.Invalid, "The request body is not a valid JSON object.")
	}
	var err error
	if p.Type, err = field[string](raw, "type", "a string"); err != nil {
		return p, err
	}
	if p.Name, err = field[string](raw, "name", "a string"); err != nil {
		return p, err
	}
	if p.Content, err = field[string](raw, "content", "a string"); err != nil {
		return p, err
	}
	if p.TTL, err = field[int](raw, "ttl", "a whole number of seconds"); err != nil {
		return p, err
	}
	if p.Proxied, err = field[bool](raw, "proxied", "true or false"); err != nil {
		return p, err
	}
	if p.Priority, err = field[int](raw, "priority", "a whole number"); err != nil {
		return p, err
	}
	if p.Comment, err = field[string](raw, "comment", "a string"); err != nil {
		return p, err
	}
	if p.Tags, err = field[[]string](raw, "tags", "a list of strings"); err != nil {
		return p, err
	}
	if d, ok := raw["data"]; ok && !isNull(d) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(d, &obj); err != nil {
			return p, errs.InvalidField("data", "The data field must be an object.")
		}
		var dd Data
		ints := []struct {
			name string
			dst  **int
		}{{"priority", &dd.Priority}, {"weight", &dd.Weight}, {"port", &dd.Port}, {"flags", &dd.Flags}}
		for _, f := range ints {
			if *f.dst, err = field[int](obj, f.name, "a whole number"); err != nil {
				return p, prefixField(err)
			}
		}
		strs := []struct {
			name string
			dst  *string
		}{{"service", &dd.Service}, {"proto", &dd.Proto}, {"name", &dd.Name}, {"target", &dd.Target}, {"tag", &dd.Tag}, {"value", &dd.Value}}
		for _, f := range strs {
			s, err := field[string](obj, f.name, "a string")
			if err != nil {
				return p, prefixField(err)
			}
			*f.dst = deref(s)
		}
		p.Data = &dd
	}
	return p, nil
}

func isNull(m json.RawMessage) bool { return string(bytes.TrimSpace(m)) == "null" }

// field decodes raw[name] into a T, or returns nil when it is absent or null.
func field[T any](raw map[string]json.RawMessage, name, want string) (*T, error) {
	m, ok := raw[name]
	if !ok || isNull(m) {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, errs.InvalidField(name, "The %s field must be %s.", name, want)
	}
	return &v, nil
}

func prefixField(err error) error {
	if e := errs.As(err); e != nil {
		e.Field = "data." + e.Field
		e.Message = strings.Replace(e.Message, "The ", "The data.", 1)
	}
	return err
}
