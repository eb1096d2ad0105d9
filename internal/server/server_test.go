package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/clientip"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestRequestLogLine(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	db := storetest.SQLite(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AddLogAttr(w, slog.String("token_id", "abc123"))
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("short and stout"))
	})
	h := New(logger, db, clientip.New(nil), Handlers{API: api})
	r := httptest.NewRequest("GET", "/client/v4/zones?secret=lkt_should_not_appear", nil)
	r.RemoteAddr = "192.0.2.7:4242"
	h.ServeHTTP(httptest.NewRecorder(), r)

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	for k, want := range map[string]any{"msg": "request", "method": "GET", "path": "/client/v4/zones",
		"status": float64(418), "bytes": float64(15), "ip": "192.0.2.7", "token_id": "abc123"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if strings.Contains(buf.String(), "lkt_should_not_appear") {
		t.Fatal("the query string, which may hold secrets, was logged")
	}
}

func TestHealthz(t *testing.T) {
	db := storetest.SQLite(t)
	h := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), db, clientip.New(nil), Handlers{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"ok"`) {
		t.Fatalf("healthy: %d %s", rec.Code, rec.Body)
	}
	db.Close()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"status":"unavailable"`) {
		t.Fatalf("database down: %d %s", rec.Code, rec.Body)
	}
}
