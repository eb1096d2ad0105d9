package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flushing goroutine and the test to share, counting
// the writes it gets.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesWaitForFlushAndWarnFlushes(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, 1<<10, time.Hour) // the timer never fires in this test
	defer w.Close()
	log := slog.New(NewHandler(slog.NewTextHandler(w, nil), w, slog.LevelWarn)).With("listener", "api")
	log.Info("request", "path", "/a")
	log.Info("request", "path", "/b")
	if out.String() != "" {
		t.Fatalf("info lines written before a flush: %q", out.String())
	}
	log.Warn("store failed")
	got := out.String()
	if !strings.Contains(got, "path=/a") || !strings.Contains(got, "path=/b") || !strings.Contains(got, "store failed") {
		t.Fatalf("a warning did not write what came before it: %q", got)
	}
	if out.writes != 1 {
		t.Errorf("%d writes for three lines, want 1", out.writes)
	}
}

func TestFullBufferNeverSplitsALine(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, 100, time.Hour)
	line := strings.Repeat("x", 39) + "\n"
	for range 5 {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != strings.Repeat(line, 5) {
		t.Fatalf("output %q", got)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.writes != 3 { // 2 + 2 lines fill the buffer, the fifth goes at Close
		t.Errorf("%d writes, want 3", out.writes)
	}
}

func TestTimerAndCloseFlush(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, 0, 10*time.Millisecond)
	fmt.Fprintln(w, "first")
	deadline := time.Now().Add(10 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if out.String() != "first\n" {
		t.Fatalf("the timer did not write the line: %q", out.String())
	}
	fmt.Fprintln(w, "last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\nlast\n" {
		t.Fatalf("Close did not write what was left: %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, 256, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(w, "g%d line %03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for _, l := range lines {
		var g, i int
		if n, err := fmt.Sscanf(l, "g%d line %d", &g, &i); n != 2 || err != nil {
			t.Fatalf("a line was torn: %q", l)
		}
	}
}
