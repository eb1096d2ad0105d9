package api

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/tokens"
)

// Leak report limits.
const (
	// maxLeakReportBody bounds the body of a leak report: 100 secrets and a URL fit many times.
	maxLeakReportBody = 64 << 10
	// DefaultLeakReportsPerMinute is how many leak reports one client address may send a minute.
	DefaultLeakReportsPerMinute = 30
	// maxUserAgent bounds the user agent an anonymous reporter gets recorded in the audit log.
	maxUserAgent = 512
)

// leakReportBody is the body of POST /leaked_tokens.
type leakReportBody struct {
	Tokens []string `json:"tokens"`
	URL    string   `json:"url"`
	Source string   `json:"source"`
}

// handleLeakReport takes secrets found in public from anyone, without a credential, and switches
// off the tokens they belong to (tokens.Service.ReportLeaked). The answer is the same whatever
// matched — how many entries were received — so the endpoint cannot tell whether a secret exists;
// it can only disable a token, which whoever holds the secret could do anyway. Each client address
// (an IPv6 /64) may send DefaultLeakReportsPerMinute reports a minute.
func (s *Server) handleLeakReport(w http.ResponseWriter, r *http.Request) error {
	ip := s.IPs.IP(r)
	lim := ratelimit.Limit{Name: "leak-reports", Events: int64(s.LeakReportsPerMinute), Window: time.Minute}
	if err := s.limit(w, r, lim, ratelimit.AddressKey(ip), "Too many leak reports from your address"); err != nil {
		return err
	}
	body, err := readBody(w, r, maxLeakReportBody, errs.Invalid)
	if err != nil {
		return err
	}
	var b leakReportBody
	if err := decodeBytes(body, &b, false); err != nil {
		return err
	}
	if err := b.validate(); err != nil {
		return err
	}
	actor := audit.Actor{Type: audit.ActorSystem, ID: tokens.LeakReporterID, IP: ip.String(),
		UserAgent: truncateUTF8(r.UserAgent(), maxUserAgent), Interface: audit.InterfaceAPI}
	out, err := s.Tokens.ReportLeaked(r.Context(), actor, b.Tokens, tokens.LeakReport{URL: b.URL, Source: b.Source})
	if err != nil {
		return err
	}
	// For the operator's request log only; the reporter learns none of it.
	server.AddLogAttr(w, slog.Group("leak_report", "received", out.Received, "malformed", out.Malformed,
		"unknown", out.Unknown, "disabled", out.Disabled, "already_disabled", out.Already))
	writeResult(w, map[string]int{"received": out.Received}, nil)
	return nil
}

func (b *leakReportBody) validate() error {
	if len(b.Tokens) == 0 {
		return errs.InvalidField("tokens", `List the secrets you found: {"tokens": ["lkt_…"]}.`)
	}
	if len(b.Tokens) > tokens.MaxLeakReportTokens {
		return errs.InvalidField("tokens", "At most %d tokens per report; send the rest in another.", tokens.MaxLeakReportTokens)
	}
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		if len(b.URL) > tokens.MaxLeakURLLength || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errs.InvalidField("url", "url must be an http or https URL of at most %d characters.", tokens.MaxLeakURLLength)
		}
	}
	if !utf8.ValidString(b.Source) || utf8.RuneCountInString(b.Source) > tokens.MaxLeakSourceLength ||
		strings.ContainsFunc(b.Source, unicode.IsControl) {
		return errs.InvalidField("source", "source is text of at most %d characters, without control characters.", tokens.MaxLeakSourceLength)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
