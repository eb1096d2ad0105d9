package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
)

// DefaultNoticeInterval is how often the token notice scan runs.
const DefaultNoticeInterval = time.Minute

// NoticesArgs is the periodic job that mails token notices (ScanTokenNotices).
type NoticesArgs struct{}

// Kind names the job for River.
func (NoticesArgs) Kind() string { return "token_notices" }

type noticesWorker struct {
	river.WorkerDefaults[NoticesArgs]
	q       *Queue
	db      *store.DB
	baseURL string
}

// Work runs one scan.
func (w *noticesWorker) Work(ctx context.Context, _ *river.Job[NoticesArgs]) error {
	_, err := w.q.ScanTokenNotices(ctx, w.db, w.baseURL, time.Now().UTC())
	return err
}

// tokenNotice records one notice sent; the primary key (token, kind) makes each notice go once.
type tokenNotice struct {
	TokenID string `gorm:"primaryKey"`
	Kind    string `gorm:"primaryKey"`
	SentAt  time.Time
}

func (tokenNotice) TableName() string { return "token_notices" }

// claim records that notice kind of tokenID is being sent; false means it was sent already.
func claim(tx *gorm.DB, tokenID, kind string, now time.Time) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&tokenNotice{TokenID: tokenID, Kind: kind, SentAt: now})
	if res.Error != nil {
		return false, fmt.Errorf("claim token notice: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

func unclaim(tx *gorm.DB, tokenID, kind string) {
	tx.Where("token_id = ? AND kind = ?", tokenID, kind).Delete(&tokenNotice{})
}

// ScanTokenNotices queues the token mails due at now and returns how many it queued:
//   - "expires in 7 days" for an active token whose expiry is 1 to 7 days away, and "expires in
//     1 day" once it is less than a day away (each once per expiry date: extending a token's
//     expiry re-arms them);
//   - "reported as leaked and disabled" for each leak report of the last week that disabled an
//     active token.
//
// A user's token is mailed to the user; an account's token to the account's Super
// Administrators. Each notice is recorded (token_notices) before its mail is queued, so
// concurrent or repeated scans send it once.
func (q *Queue) ScanTokenNotices(ctx context.Context, db *store.DB, baseURL string, now time.Time) (int, error) {
	tx := db.Gorm(ctx)
	base := strings.TrimSuffix(baseURL, "/")
	sent := 0
	var expiring []store.APIToken
	if err := tx.Where("status = ? AND expires_on IS NOT NULL AND expires_on > ? AND expires_on <= ?", "active", now, now.Add(7*24*time.Hour)).
		Find(&expiring).Error; err != nil {
		return 0, fmt.Errorf("tokens about to expire: %w", err)
	}
	for i := range expiring {
		t := &expiring[i]
		left := t.ExpiresOn.Sub(now)
		kind, in := "expiry_7d", fmt.Sprintf("%d days", int(math.Ceil(left.Hours()/24)))
		if left <= 24*time.Hour {
			kind, in = "expiry_1d", "1 day"
		}
		if in == "1 days" {
			in = "1 day"
		}
		n, err := q.notice(tx, t, kind+":"+strconv.FormatInt(t.ExpiresOn.Unix(), 10), now, mail.KindTokenExpiry, func(account string) mail.TokenNotice {
			return mail.TokenNotice{Token: t.Name, Account: account, In: in, Expires: t.ExpiresOn.UTC().Format("2 Jan 2006 15:04 UTC"),
				Link: base + tokenPath(t) + "/edit"}
		})
		if err != nil {
			return sent, err
		}
		sent += n
	}

	var leaks []struct {
		EntryID   string
		TokenID   string
		NewValue  *string
		CreatedAt time.Time
	}
	err := tx.Table("audit_entries AS e").
		Select("e.id AS entry_id, e.resource_id AS token_id, e.new_value, e.created_at").
		Joins("JOIN api_tokens t ON t.id = e.resource_id").
		Where("e.action = ? AND e.created_at > ? AND e.old_value LIKE ?", "token.leak_reported", now.Add(-7*24*time.Hour), `%"status":"active"%`).
		Where("(t.owner_kind = ? AND e.owner_user_id IS NOT NULL) OR (t.owner_kind = ? AND e.owner_user_id IS NULL)",
			store.TokenOwnerUser, store.TokenOwnerAccount).
		Scan(&leaks).Error
	if err != nil {
		return sent, fmt.Errorf("leak reports: %w", err)
	}
	for _, l := range leaks {
		var t store.APIToken
		if err := tx.Where("id = ?", l.TokenID).Take(&t).Error; err != nil {
			continue
		}
		var report struct {
			URL    string `json:"url"`
			Source string `json:"source"`
		}
		if l.NewValue != nil {
			_ = json.Unmarshal([]byte(*l.NewValue), &report)
		}
		where := strings.TrimSpace(strings.Join(nonEmpty(report.URL, report.Source), ", "))
		n, err := q.notice(tx, &t, "leak:"+l.EntryID, now, mail.KindTokenLeaked, func(account string) mail.TokenNotice {
			return mail.TokenNotice{Token: t.Name, Account: account, Where: where, When: l.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC"),
				Link: base + tokenPath(&t) + "/roll"}
		})
		if err != nil {
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tokenPath is the dashboard path of a token.
func tokenPath(t *store.APIToken) string {
	if t.OwnerKind == store.TokenOwnerAccount && t.AccountID != nil {
		return "/accounts/" + *t.AccountID + "/tokens/" + t.ID
	}
	return "/profile/tokens/" + t.ID
}

// notice claims notice key of t and queues its mail of kind to each recipient.
func (q *Queue) notice(tx *gorm.DB, t *store.APIToken, key string, now time.Time, kind string, data func(account string) mail.TokenNotice) (int, error) {
	ok, err := claim(tx, t.ID, key, now)
	if err != nil || !ok {
		return 0, err
	}
	to, account, err := recipients(tx, t)
	if err != nil {
		unclaim(tx, t.ID, key)
		return 0, err
	}
	for _, email := range to {
		m, err := mail.Render(kind, email, data(account))
		if err == nil {
			err = q.SendMail(tx.Statement.Context, m)
		}
		if err != nil {
			unclaim(tx, t.ID, key)
			return 0, err
		}
	}
	return len(to), nil
}

// recipients returns who hears about t: its user, or its account's Super Administrators (with
// the account's name).
func recipients(tx *gorm.DB, t *store.APIToken) ([]string, string, error) {
	if t.OwnerKind != store.TokenOwnerAccount || t.AccountID == nil {
		if t.UserID == nil {
			return nil, "", nil
		}
		u, err := store.UserByID(tx, *t.UserID)
		if err != nil {
			return nil, "", err
		}
		return []string{u.Email}, "", nil
	}
	a, err := store.AccountByID(tx, *t.AccountID)
	if err != nil {
		return nil, "", err
	}
	var emails []string
	err = tx.Model(&store.Membership{}).Where("account_id = ? AND status = ? AND role_id = ? AND zone_ids IS NULL AND user_id IS NOT NULL",
		a.ID, store.MembershipAccepted, accounts.SuperAdministratorRoleID).Pluck("email", &emails).Error
	if err != nil {
		return nil, "", fmt.Errorf("account admins: %w", err)
	}
	return emails, a.Name, nil
}
