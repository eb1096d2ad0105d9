package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/jobs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var key = []byte("0123456789abcdef0123456789abcdef")

// flaky fails its first sends, then passes them on.
type flaky struct {
	fails atomic.Int32
	next  mail.Sender
}

func (f *flaky) Send(ctx context.Context, m mail.Message) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("smtp server away")
	}
	return f.next.Send(ctx, m)
}

// TestMailSurvivesRestartAndRetries: a mail queued while no worker runs is delivered by the next
// process, through a real SMTP server, after a failed attempt; the queue holds it encrypted.
func TestMailSurvivesRestartAndRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t)
		smtpSender, err := mail.NewSMTP(mail.Config{URL: srv.URL(), From: "Latchkey <latchkey@example.com>"})
		if err != nil {
			t.Fatal(err)
		}
		// A process that only queues (its workers are off), then stops.
		q, err := jobs.Open(ctx, db, jobs.Options{SessionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		msg := mail.Message{To: "ann@example.com", Subject: "Hello", Text: "secret link https://x.example/accept?code=SECRETCODE", HTML: "<p>hi</p>"}
		if err := q.SendMail(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var args []string
		if err := db.Gorm(ctx).Raw("SELECT CAST(args AS TEXT) FROM river_job").Scan(&args).Error; err != nil || len(args) != 1 {
			t.Fatalf("queued jobs: %v %v", args, err)
		}
		if strings.Contains(args[0], "SECRETCODE") || strings.Contains(args[0], "ann@example.com") {
			t.Fatalf("the queued mail is readable: %s", args[0])
		}
		// The next process works it: the first attempt fails, a retry delivers it.
		f := &flaky{next: smtpSender}
		f.fails.Store(1)
		q2, err := jobs.Open(ctx, db, jobs.Options{SessionKey: key, Sender: f, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer q2.Close(ctx)
		got := srv.WaitFor(t, "ann@example.com", 1)
		if got.Subject != "Hello" || !strings.Contains(got.Text, "SECRETCODE") || !strings.Contains(got.HTML, "<p>hi</p>") {
			t.Fatalf("received %+v", got)
		}
		if f.fails.Load() >= 0 {
			t.Fatal("the mail was delivered without the failed attempt")
		}
	})
}
