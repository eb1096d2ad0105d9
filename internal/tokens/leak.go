package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// ActionLeakReported is the audit action of a leak report about a token.
const ActionLeakReported = "token.leak_reported"

// LeakReporterID is the actor id of leak reports: the reporter is anonymous, so the system acts.
const LeakReporterID = "leak-report"

// Leak report limits.
const (
	// MaxLeakReportTokens is how many secrets one report may carry.
	MaxLeakReportTokens = 100
	// MaxLeakURLLength bounds the URL where the secrets were found.
	MaxLeakURLLength = 2048
	// MaxLeakSourceLength bounds the free-text source, in characters.
	MaxLeakSourceLength = 100
)

// LeakReport says where reported secrets were found. Both fields are optional and come from an
// anonymous reporter; the caller validates them.
type LeakReport struct {
	URL    string `json:"url"`
	Source string `json:"source"`
}

// LeakOutcome counts what a report did. It is for tests and logs, never for the reporter: the
// reporter learns only how many entries were received, so the endpoint tells nobody whether a
// secret exists.
type LeakOutcome struct {
	Received  int // entries in the report
	Malformed int // entries that are not well-formed secrets (checked offline)
	Unknown   int // well-formed secrets that match no token
	Disabled  int // active tokens the report disabled
	Already   int // tokens that were already disabled (the report is recorded all the same)
}

// ReportLeaked switches off the tokens whose secrets were found in public. Each entry is parsed
// offline first; malformed entries and duplicates are skipped. For each token found by the hash of
// its secret, one transaction sets an active token's status to disabled (the row stays, so its
// owner sees what happened), records the change in the feed and writes a token.leak_reported
// audit entry with actor (the system, the reporter's address and user agent) and report as the
// new value; the token leaves this process's cache once committed. A token that is already
// disabled only gets the audit entry. The secrets themselves are never stored or logged.
func (s *Service) ReportLeaked(ctx context.Context, actor audit.Actor, secrets []string, report LeakReport) (LeakOutcome, error) {
	out := LeakOutcome{Received: len(secrets)}
	report = LeakReport{URL: RedactSecrets(report.URL), Source: RedactSecrets(report.Source)}
	seen := map[Hash]bool{}
	for _, secret := range secrets {
		parsed, err := Parse(strings.TrimSpace(secret))
		if err != nil {
			out.Malformed++
			continue
		}
		if seen[parsed.Hash] {
			continue
		}
		seen[parsed.Hash] = true
		id, disabled, err := s.reportOne(ctx, actor, parsed.Hash, report)
		if err != nil {
			return out, err
		}
		switch {
		case id == "":
			out.Unknown++
		case disabled:
			s.cache.dropToken(id)
			out.Disabled++
		default:
			out.Already++
		}
	}
	return out, nil
}

// reportOne handles one well-formed secret: it returns the token's id ("" when none matches) and
// whether the report disabled it.
func (s *Service) reportOne(ctx context.Context, actor audit.Actor, h Hash, report LeakReport) (id string, disabled bool, err error) {
	var cascaded []string
	defer func() { s.dropTokens(cascaded) }()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		id, disabled, cascaded = "", false, nil
		row, err := store.APITokenBySecretHash(tx, h.String())
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return nil
			}
			return err
		}
		id = row.ID
		// Only an active token changes, and the check and the change are one statement, so a
		// concurrent edit cannot be overwritten with a stale row.
		if disabled, err = store.DisableAPIToken(tx, row.ID, s.now().Truncate(time.Second)); err != nil {
			return err
		}
		owner := Owner{Kind: OwnerKind(row.OwnerKind)}
		if row.UserID != nil {
			owner.UserID = *row.UserID
		}
		if row.AccountID != nil {
			owner.AccountID = *row.AccountID
		}
		ev := owner.auditEvent(ActionLeakReported, row.ID)
		ev.Old = map[string]string{"status": row.Status}
		ev.New = leakValue{Status: StatusDisabled, URL: report.URL, Source: report.Source}
		if err := recordTokenEvent(tx, actor, owner, row.Name, ev, row.Policies); err != nil {
			return err
		}
		// Whoever found the secret may have minted children with it.
		if cascaded, err = s.disableDescendants(tx, actor, row.ID, causeLeaked); err != nil {
			return err
		}
		if disabled {
			return NoteTokenChange(tx, row.ID)
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("report leaked token: %w", err)
	}
	return id, disabled, nil
}

// RedactSecrets replaces anything in s that looks like a Latchkey secret (a prefix followed by
// eight or more base62 characters) with the prefix and "[redacted]". Reporters paste URLs and
// notes that may hold the very secret they report, and the audit log must never keep one.
func RedactSecrets(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		prefix := ""
		switch {
		case strings.HasPrefix(s[i:], UserPrefix):
			prefix = UserPrefix
		case strings.HasPrefix(s[i:], AccountPrefix):
			prefix = AccountPrefix
		}
		if prefix == "" {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i + len(prefix)
		for j < len(s) && isBase62(s[j]) {
			j++
		}
		b.WriteString(prefix)
		if j-i-len(prefix) >= 8 {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(s[i+len(prefix) : j])
		}
		i = j
	}
	return b.String()
}

// leakValue is the new value of a token.leak_reported audit entry.
type leakValue struct {
	Status string `json:"status"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// LeakNotice is the latest leak report about a token, for its owner.
type LeakNotice struct {
	At     time.Time
	URL    string
	Source string
}

// LeakNotices returns, for those of ts that are disabled, the latest leak report not yet
// answered by a roll: the token stays disabled until its owner rolls it (Update refuses to enable
// it before), and the notice says so. A token rolled since its last report has no notice.
func (s *Service) LeakNotices(ctx context.Context, ts []*Token) (map[string]LeakNotice, error) {
	ids := map[Owner][]string{}
	for _, t := range ts {
		if t.Status == StatusDisabled {
			ids[t.Owner] = append(ids[t.Owner], t.ID)
		}
	}
	out := map[string]LeakNotice{}
	for o, list := range ids {
		leaks, rolls, err := leaksAndRolls(s.db.Gorm(ctx), o, list)
		if err != nil {
			return nil, err
		}
		for id, e := range leaks {
			if roll, ok := rolls[id]; ok && roll.CreatedAt.After(e.CreatedAt) {
				continue
			}
			n := LeakNotice{At: e.CreatedAt.UTC()}
			if e.NewValue != nil {
				var v leakValue
				if err := json.Unmarshal([]byte(*e.NewValue), &v); err != nil {
					return nil, fmt.Errorf("decode leak report of token %s: %w", id, err)
				}
				n.URL, n.Source = v.URL, v.Source
			}
			out[id] = n
		}
	}
	return out, nil
}

// leaksAndRolls returns the latest leak report and the latest roll of each of the given tokens of
// owner, from the owner's log (the user's, or the account's).
func leaksAndRolls(tx *gorm.DB, owner Owner, ids []string) (leaks, rolls map[string]store.AuditEntry, err error) {
	f := store.AuditFilter{OwnerUserID: owner.UserID}
	if owner.Kind == OwnerAccount {
		f = store.AuditFilter{AccountID: owner.AccountID}
	}
	if leaks, err = store.LatestAuditEntries(tx, f, ActionLeakReported, "api_token", ids); err != nil || len(leaks) == 0 {
		return leaks, nil, err
	}
	rolls, err = store.LatestAuditEntries(tx, f, "token.roll", "api_token", ids)
	return leaks, rolls, err
}

// rollFirst refuses to enable a token whose latest leak report is newer than its latest roll:
// enabling it would revive the leaked secret. Rolling first leaves the leaked secret dead.
func rollFirst(tx *gorm.DB, owner Owner, id string) error {
	leaks, rolls, err := leaksAndRolls(tx, owner, []string{id})
	if err != nil {
		return err
	}
	leak, ok := leaks[id]
	if !ok {
		return nil
	}
	if roll, ok := rolls[id]; ok && roll.CreatedAt.After(leak.CreatedAt) {
		return nil
	}
	return errs.InvalidField("status", "This token's secret was reported as leaked on %s. Roll the token first, so that the leaked secret stays dead, then enable it.",
		leak.CreatedAt.UTC().Format("Jan 2, 2006")).WithCode(errs.Forbidden)
}
