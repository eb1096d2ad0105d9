package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/tokens"
)

// TestAdminSeed seeds through the command line: the output names what was written and, with
// --secrets-file, holds no secret, which goes to a file only its owner can read.
func TestAdminSeed(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LATCHKEY_DATABASE_URL": filepath.Join(dir, "l.db")}
	if _, err := runJSON(t, env, "correct horse battery\n", "admin", "create-user", "--email", "ops@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets.json")
	// Someone planted a link at the path, to a file they can read: it must not get the secrets.
	planted := filepath.Join(dir, "planted")
	if err := os.WriteFile(planted, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(planted, secrets); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"admin", "seed", "--email", "ops@example.com", "--zones", "3",
		"--records-per-zone", "60", "--zones-with-records", "1", "--tokens", "5", "--secrets-file", secrets},
		func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var res struct {
		Zones, Records, Tokens int
		SecretsFile            string                     `json:"secrets_file"`
		AllZones               map[string]json.RawMessage `json:"all_zones_token"`
		OneZone                map[string]json.RawMessage `json:"one_zone_token"`
		ACME                   map[string]json.RawMessage `json:"acme_token"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Zones != 3 || res.Records != 60 || res.Tokens != 5 || res.AllZones["id"] == nil || res.SecretsFile != secrets {
		t.Fatalf("output %s", out.String())
	}
	// The printed tokens name no value at all (not "value":"", which reads as an empty secret).
	for _, tok := range []map[string]json.RawMessage{res.AllZones, res.OneZone, res.ACME} {
		if v, ok := tok["value"]; ok || tok["id"] == nil {
			t.Fatalf("a printed token has a \"value\" (%s) or no id: %s", v, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), tokens.UserPrefix) {
		t.Fatalf("a secret was printed: %s %s", out.String(), errb.String())
	}
	fi, err := os.Lstat(secrets)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v, %v", fi, err)
	}
	if b, _ := os.ReadFile(planted); len(b) != 0 {
		t.Fatal("the secrets went through a planted symbolic link")
	}
	var file map[string]struct{ ID, Value string }
	b, _ := os.ReadFile(secrets)
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"all_zones", "one_zone", "acme"} {
		if _, err := tokens.Parse(file[k].Value); err != nil {
			t.Errorf("%s: secret %q does not parse", k, file[k].Value)
		}
	}
	if _, err := runJSON(t, env, "", "admin", "seed", "--email", "nobody@example.com"); err == nil {
		t.Fatal("seeding for an unknown user succeeded")
	}
}
