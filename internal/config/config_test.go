package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListCacheMemoryOff: "off" and "0" turn the list page caches off.
func TestListCacheMemoryOff(t *testing.T) {
	for _, v := range []string{"off", "OFF", "0"} {
		c, err := Load(nil, func(k string) string {
			if k == "LATCHKEY_LIST_CACHE_MEMORY" {
				return v
			}
			return ""
		}, io.Discard)
		if err != nil || c.ListCacheMemory != 0 {
			t.Errorf("LATCHKEY_LIST_CACHE_MEMORY=%s: %d, %v; want 0", v, c.ListCacheMemory, err)
		}
	}
}

func TestLoad(t *testing.T) {
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := Load(nil, getenv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != filepath.Join("data", "latchkey.db") || c.BaseURL != "http://127.0.0.1:8080" || c.SecureCookies() ||
		c.BodyMemory != 256<<20 || c.TokenCacheSize != 100_000 || c.ListCacheMemory != 32<<20 {
		t.Fatalf("defaults = %+v", c)
	}
	c, err = Load([]string{"-addr", ":9999"}, getenv(map[string]string{
		"LATCHKEY_ADDR": "0.0.0.0:1", "LATCHKEY_BASE_URL": "https://keys.example.com/", "LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
		"LATCHKEY_DATABASE_URL": "postgres://x@y/z", "LATCHKEY_BODY_MEMORY": "1GiB",
		"LATCHKEY_TOKEN_CACHE_SIZE": "5000", "LATCHKEY_LIST_CACHE_MEMORY": "8MiB",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" || c.BaseURL != "https://keys.example.com" || !c.SecureCookies() || len(c.TrustedProxies) != 2 ||
		c.TrustedProxies[1].String() != "192.0.2.1/32" || c.DatabaseURL != "postgres://x@y/z" || c.BodyMemory != 1<<30 ||
		c.TokenCacheSize != 5000 || c.ListCacheMemory != 8<<20 {
		t.Fatalf("flags over env = %+v", c)
	}
	for _, bad := range []map[string]string{
		{"LATCHKEY_BASE_URL": "keys.example.com"},
		{"LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/33"},
		{"LATCHKEY_LOG_LEVEL": "loud"},
		{"LATCHKEY_LOG_FORMAT": "xml"},
		{"LATCHKEY_SESSION_KEY": "abcd"},
		{"LATCHKEY_SHUTDOWN_TIMEOUT": "soon"},
		{"LATCHKEY_BODY_MEMORY": "lots"},
		{"LATCHKEY_BODY_MEMORY": "1MiB"},
		{"LATCHKEY_TOKEN_CACHE_SIZE": "many"},
		{"LATCHKEY_TOKEN_CACHE_SIZE": "10"},
		{"LATCHKEY_LIST_CACHE_MEMORY": "lots"},
		{"LATCHKEY_LIST_CACHE_MEMORY": "1KiB"},
		{"LATCHKEY_LIST_CACHE_MEMORY": "1TiB"},
	} {
		if _, err := Load(nil, getenv(bad), io.Discard); err == nil {
			t.Errorf("Load(%v) succeeded", bad)
		}
	}
}

func TestEnsureSessionKeyPersists(t *testing.T) {
	dir := t.TempDir()
	c := &Config{DataDir: dir}
	if err := c.EnsureSessionKey(); err != nil || len(c.SessionKey) != 32 {
		t.Fatalf("key %x, %v", c.SessionKey, err)
	}
	info, err := os.Stat(filepath.Join(dir, "session.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("session.key: %v %v", info, err)
	}
	d := &Config{DataDir: dir}
	if err := d.EnsureSessionKey(); err != nil || string(d.SessionKey) != string(c.SessionKey) {
		t.Fatal("the key must survive a restart")
	}
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("z", 64)), 0o600)
	if err := (&Config{DataDir: dir}).EnsureSessionKey(); err == nil {
		t.Fatal("a corrupt key file must be an error")
	}
}

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"400d", 400 * 24 * time.Hour, true}, {"8760h", 8760 * time.Hour, true},
		{"1d", 24 * time.Hour, true}, {"12h", 0, false}, {"-3d", 0, false}, {"3x", 0, false}, {"d", 0, false}, {"1.5d", 0, false},
	} {
		got, err := ParseRetention(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseRetention(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestZoneActivationSetting(t *testing.T) {
	for _, c := range []struct {
		in      string
		pending bool
		err     bool
	}{{"", false, false}, {"immediate", false, false}, {"Delegation", true, false}, {"later", false, true}} {
		cfg, err := Load(nil, func(k string) string {
			if k == "LATCHKEY_ZONE_ACTIVATION" {
				return c.in
			}
			return ""
		}, io.Discard)
		if (err != nil) != c.err || (err == nil && cfg.ZonesPendingUntilDelegated != c.pending) {
			t.Errorf("%q: pending=%v err=%v", c.in, cfg != nil && cfg.ZonesPendingUntilDelegated, err)
		}
	}
}

func TestEdgeAddrExplicit(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want bool
	}{{"", nil, false}, {"127.0.0.1:9000", nil, true}, {"", []string{"-edge-addr", "127.0.0.1:9001"}, true}} {
		cfg, err := Load(c.args, func(k string) string {
			if k == "LATCHKEY_EDGE_ADDR" {
				return c.env
			}
			return ""
		}, io.Discard)
		if err != nil || cfg.Edge.AddrExplicit != c.want {
			t.Errorf("%q %v: explicit=%v err=%v", c.env, c.args, cfg != nil && cfg.Edge.AddrExplicit, err)
		}
	}
}
