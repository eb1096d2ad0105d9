// Package jobs runs Latchkey's durable background jobs on River (riverqueue.com), in the same
// database as everything else: River's SQLite driver over the pure-Go SQLite file, or its pgx
// driver on PostgreSQL. A job inserted here survives a restart and is retried with River's
// exponential backoff until it succeeds or runs out of attempts.
//
// The mail job sends one email; its message, which may hold a one-time link, is stored encrypted
// (AES-256-GCM with a key derived from the server's session key) and never logged. A periodic job
// (notices.go) queues the token expiry and leak mails.
package jobs

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
)

// MailAttempts is how often a mail is tried before it is given up (River backs off
// exponentially between attempts: seconds at first, hours at the end).
const MailAttempts = 12

// MailArgs is the job that sends one email; Sealed is the encrypted mail.Message.
type MailArgs struct {
	Sealed []byte `json:"sealed"`
}

// Kind names the job for River.
func (MailArgs) Kind() string { return "mail" }

// Queue inserts jobs and, once started, works them.
type Queue struct {
	key    []byte
	insert func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	stop   func(ctx context.Context) error
	close  func()
}

// Options configure a Queue.
type Options struct {
	// Sender delivers mails; nil leaves mail jobs queued (nothing works them).
	Sender mail.Sender
	// SessionKey derives the key that encrypts queued mails.
	SessionKey []byte
	Logger     *slog.Logger
	// PollInterval is how often workers look for jobs (default 1s).
	PollInterval time.Duration
	// BaseURL is the dashboard's public URL, for links in token notices.
	BaseURL string
	// NoticeInterval is how often the token notice scan runs (default DefaultNoticeInterval;
	// negative: never, for tests that call ScanTokenNotices themselves).
	NoticeInterval time.Duration
}

// Open migrates River's tables in db's database and starts a queue over them.
func Open(ctx context.Context, db *store.DB, o Options) (*Queue, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	q := &Queue{key: mailKey(o.SessionKey)}
	switch db.Dialect() {
	case store.Postgres:
		pool, err := pgxpool.New(ctx, db.URL())
		if err != nil {
			return nil, fmt.Errorf("open job queue pool: %w", err)
		}
		if err := start(ctx, q, db, riverpgxv5.New(pool), o); err != nil {
			pool.Close()
			return nil, err
		}
		q.close = pool.Close
	default:
		// A pool of its own, with one connection and IMMEDIATE transactions, so River's
		// read-then-write transactions wait for the write lock instead of failing.
		v := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			v.Add("_pragma", p)
		}
		v.Set("_txlock", "immediate")
		sdb, err := sql.Open(sqlite.DriverName, db.URL()+"?"+v.Encode())
		if err != nil {
			return nil, fmt.Errorf("open job queue database: %w", err)
		}
		sdb.SetMaxOpenConns(1)
		if err := start(ctx, q, db, riversqlite.New(sdb), o); err != nil {
			sdb.Close()
			return nil, err
		}
		q.close = func() { sdb.Close() }
	}
	return q, nil
}

func start[TTx any](ctx context.Context, q *Queue, db *store.DB, drv riverdriver.Driver[TTx], o Options) error {
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	cfg := &river.Config{Logger: o.Logger, MaxAttempts: MailAttempts, FetchPollInterval: o.PollInterval,
		FetchCooldown: min(o.PollInterval, 100*time.Millisecond), CompletedJobRetentionPeriod: time.Hour}
	if o.Sender != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &mailWorker{q: q, sender: o.Sender})
		// Token notices (notices.go): a periodic scan, run by the elected leader only.
		river.AddWorker(workers, &noticesWorker{q: q, db: db, baseURL: o.BaseURL})
		if o.NoticeInterval >= 0 {
			cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cmpDuration(o.NoticeInterval, DefaultNoticeInterval)),
				func() (river.JobArgs, *river.InsertOpts) { return NoticesArgs{}, &river.InsertOpts{MaxAttempts: 1} },
				&river.PeriodicJobOpts{RunOnStart: true})}
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}
	}
	c, err := river.NewClient(drv, cfg)
	if err != nil {
		return fmt.Errorf("job queue client: %w", err)
	}
	q.insert = func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
		_, err := c.Insert(ctx, args, opts)
		return err
	}
	q.stop = func(ctx context.Context) error {
		if o.Sender == nil {
			return nil
		}
		return c.Stop(ctx)
	}
	if o.Sender != nil {
		if err := c.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start job queue: %w", err)
		}
	}
	return nil
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Close stops the workers (waiting for jobs in flight up to ctx) and releases the database.
func (q *Queue) Close(ctx context.Context) error {
	err := q.stop(ctx)
	if q.close != nil {
		q.close()
	}
	return err
}

// SendMail queues m; it is sent in the background, retried until it is delivered.
func (q *Queue) SendMail(ctx context.Context, m mail.Message) error {
	sealed, err := q.seal(m)
	if err != nil {
		return err
	}
	if err := q.insert(ctx, MailArgs{Sealed: sealed}, nil); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	return nil
}

type mailWorker struct {
	river.WorkerDefaults[MailArgs]
	q      *Queue
	sender mail.Sender
}

// Work sends the job's mail.
func (w *mailWorker) Work(ctx context.Context, j *river.Job[MailArgs]) error {
	m, err := w.q.open(j.Args.Sealed)
	if err != nil {
		// Sealed under another key: retrying cannot help.
		return river.JobCancel(err)
	}
	return w.sender.Send(ctx, m)
}

// Timeout bounds one attempt to send a mail.
func (w *mailWorker) Timeout(*river.Job[MailArgs]) time.Duration { return time.Minute }

func mailKey(sessionKey []byte) []byte {
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte("latchkey queued mail v1"))
	return m.Sum(nil)
}

func (q *Queue) seal(m mail.Message) ([]byte, error) {
	plain, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode mail: %w", err)
	}
	g, err := q.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, nil), nil
}

func (q *Queue) open(sealed []byte) (mail.Message, error) {
	var m mail.Message
	g, err := q.gcm()
	if err != nil {
		return m, err
	}
	if len(sealed) < g.NonceSize() {
		return m, errors.New("queued mail is too short")
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], nil)
	if err != nil {
		return m, errors.New("queued mail does not decrypt (was the session key changed?)")
	}
	err = json.Unmarshal(plain, &m)
	return m, err
}

func (q *Queue) gcm() (cipher.AEAD, error) {
	b, err := aes.NewCipher(q.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
