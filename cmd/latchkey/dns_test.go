package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/latchkey/latchkey/internal/audit"
	ldns "github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeAnswersDNS runs "latchkey serve" with its DNS server on a free port, adds a zone with
// the admin command and a record through a second database handle (as another process would),
// and checks that the server answers for them, and that "latchkey dns check" prints the same.
func TestServeAnswersDNS(t *testing.T) {
	dir := t.TempDir()
	dbURL := filepath.Join(dir, "latchkey.db")
	getenv := env(map[string]string{"LATCHKEY_ADDR": "127.0.0.1:0", "LATCHKEY_DATA_DIR": dir, "LATCHKEY_DATABASE_URL": dbURL,
		"LATCHKEY_DNS_ADDR": "127.0.0.1:0", "LATCHKEY_NAMESERVERS": "ns1.example.net,ns2.example.net"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- run(ctx, nil, getenv, strings.NewReader(""), &bytes.Buffer{}, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	re := regexp.MustCompile(`msg="dns server listening" addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("dns server did not start; logs:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	out, _, err := runCmd(t, getenv, "correct horse battery\n", "admin", "create-user", "--email", "dns@example.com", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		AccountID string `json:"account_id"`
	}
	json.Unmarshal([]byte(out), &u)
	out, _, err = runCmd(t, getenv, "", "admin", "create-zone", "--account-id", u.AccountID, "--name", "served.example")
	if err != nil {
		t.Fatal(err)
	}
	var z struct {
		ZoneID string `json:"zone_id"`
	}
	json.Unmarshal([]byte(out), &z)
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	typ, name, content := "A", "www", "192.0.2.80"
	if _, err := ldns.NewService(db).Create(context.Background(), audit.CLI(), u.AccountID, z.ZoneID,
		ldns.Params{Type: &typ, Name: &name, Content: &content}, nil); err != nil {
		t.Fatal(err)
	}

	// The server learns of both changes through the change feed.
	q := new(dns.Msg)
	q.SetQuestion("WWW.served.example.", dns.TypeA)
	c := &dns.Client{Timeout: 2 * time.Second}
	var m *dns.Msg
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		m, _, err = c.Exchange(q, addr)
		if err == nil && len(m.Answer) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record not served: %v %v", m, err)
		}
	}
	if a, ok := m.Answer[0].(*dns.A); !ok || a.A.String() != content || !m.Authoritative {
		t.Fatalf("answer = %v", m)
	}
	q.SetQuestion("served.example.", dns.TypeNS)
	if m, _, err = c.Exchange(q, addr); err != nil || len(m.Answer) != 2 || m.Answer[0].(*dns.NS).Ns != "ns1.example.net." {
		t.Fatalf("apex NS = %v %v", m, err)
	}

	out, _, err = runCmd(t, getenv, "", "dns", "check", "--zone", "served.example", "--name", "www", "--type", "a")
	if err != nil || !strings.Contains(out, "www.served.example.\t300\tIN\tA\t"+content) || !strings.Contains(out, "NOERROR") {
		t.Fatalf("dns check printed %q (%v)", out, err)
	}
	out, _, err = runCmd(t, getenv, "", "dns", "check", "nope.served.example")
	if err != nil || !strings.Contains(out, "NXDOMAIN") || !strings.Contains(out, "SOA") {
		t.Fatalf("dns check printed %q (%v)", out, err)
	}
	for _, bad := range [][]string{{"dns", "check"}, {"dns", "check", "--type", "BOGUS", "x.example"}, {"dns", "frob"}} {
		if _, _, err := runCmd(t, getenv, "", bad...); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}
}
