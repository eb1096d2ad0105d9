package edge_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/edge"
	"github.com/latchkey/latchkey/internal/firewall"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func (s *site) rule(t *testing.T, zone bool, mode, target, value string) *firewall.Rule {
	t.Helper()
	sc := firewall.Account(s.accountID)
	if zone {
		sc = firewall.Zone(s.accountID, s.zoneID)
	}
	r, err := s.rules.Create(context.Background(), audit.CLI(), sc, firewall.Input{Mode: mode,
		Configuration: firewall.Configuration{Target: target, Value: value}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *site) deleteRule(t *testing.T, r *firewall.Rule) {
	t.Helper()
	sc := firewall.Account(s.accountID)
	if r.Scope.Type == firewall.ScopeZone {
		sc = firewall.Zone(s.accountID, s.zoneID)
	}
	if err := s.rules.Delete(context.Background(), audit.CLI(), sc, r.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAccessRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		const host = "www.example.com"
		if r := get(t, s.srv, host, "/a.css"); r.status != 200 {
			t.Fatalf("no rules: %d", r.status)
		}

		// Block: the next request gets the block page with its request id; the origin is not asked.
		block := s.rule(t, true, firewall.ModeBlock, firewall.TargetIP, "127.0.0.1")
		before := s.origin.count("/x")
		r := get(t, s.srv, host, "/x")
		if r.status != 403 || !strings.Contains(r.body, "blocked") || !strings.Contains(r.body, r.header.Get("CF-Ray")) || s.origin.count("/x") != before {
			t.Fatalf("blocked visitor: %d %q", r.status, r.body)
		}
		// A cached object is not served to a blocked visitor either.
		if r := get(t, s.srv, host, "/a.css"); r.status != 403 {
			t.Fatalf("blocked visitor got a cached object: %d", r.status)
		}

		// A whitelist rule goes before the block, even an account rule for a wider range.
		allow := s.rule(t, false, firewall.ModeWhitelist, firewall.TargetIPRange, "127.0.0.0/16")
		if r := get(t, s.srv, host, "/x"); r.status != 200 {
			t.Fatalf("whitelisted visitor: %d", r.status)
		}
		s.deleteRule(t, allow)
		if r := get(t, s.srv, host, "/x"); r.status != 403 {
			t.Fatalf("after deleting the whitelist rule: %d", r.status)
		}

		// The zone's rules go before the account's: a zone challenge beats an account block.
		s.deleteRule(t, block)
		s.rule(t, false, firewall.ModeBlock, firewall.TargetIP, "127.0.0.1")
		if r := get(t, s.srv, host, "/x"); r.status != 403 || !strings.Contains(r.body, "blocked") {
			t.Fatalf("account block: %d %q", r.status, r.body)
		}
		s.rule(t, true, firewall.ModeChallenge, firewall.TargetIPRange, "127.0.0.0/16")
		r = get(t, s.srv, host, "/x?y=1")
		if r.status != 403 || !strings.Contains(r.body, "Checking your browser") {
			t.Fatalf("zone challenge over account block: %d %q", r.status, r.body)
		}

		// A script gets the interstitial again and again; a client that runs its script passes,
		// and the clearance cookie lets it through afterwards.
		token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(r.body)
		nonce := regexp.MustCompile(`var n="([0-9a-f]+)"`).FindStringSubmatch(r.body)
		if token == nil || nonce == nil {
			t.Fatalf("no challenge form in %q", r.body)
		}
		post := func(answer string) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/cdn-cgi/challenge-platform/verify",
				strings.NewReader(url.Values{"token": {token[1]}, "answer": {answer}}.Encode()))
			req.Host = host
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			c := *s.srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if resp := post("wrong"); resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
			t.Fatalf("wrong answer: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		resp := post(edge.ChallengeAnswer(nonce[1]))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/x?y=1" {
			t.Fatalf("right answer: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == edge.ClearanceCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly {
			t.Fatalf("no HttpOnly clearance cookie in %v", resp.Cookies())
		}
		if r := get(t, s.srv, host, "/x", "Cookie", cookie.Name+"="+cookie.Value); r.status != 200 {
			t.Fatalf("with the clearance cookie: %d", r.status)
		}
		if r := get(t, s.srv, host, "/x"); r.status != 403 {
			t.Fatalf("without the cookie: %d", r.status)
		}
		if r := get(t, s.srv, host, "/x", "Cookie", cookie.Name+"="+cookie.Value[:len(cookie.Value)-2]+"AA"); r.status != 403 {
			t.Fatalf("with a forged cookie: %d", r.status)
		}
	})
}

// TestRuleChangeReachesOtherProcess: a rule created through one process blocks on another
// process, which shares only the database, within a second.
func TestRuleChangeReachesOtherProcess(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		s := newSite(t, storetest.Open(t, url))
		_, srv2 := startEdge(t, storetest.Open(t, url), s.origin)
		if r := get(t, srv2, "www.example.com", "/x"); r.status != 200 {
			t.Fatalf("before the rule: %d", r.status)
		}
		s.rule(t, true, firewall.ModeBlock, firewall.TargetIP, "127.0.0.1")
		deadline := time.Now().Add(time.Second)
		for get(t, srv2, "www.example.com", "/x").status != 403 {
			if time.Now().After(deadline) {
				t.Fatal("the second process still lets the visitor through a second after the block rule")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
