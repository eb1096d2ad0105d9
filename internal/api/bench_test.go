package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/tokens"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
	"github.com/latchkey/latchkey/internal/zones"
)

func trivial(_ *Server, w http.ResponseWriter, _ *http.Request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// BenchmarkMiddleware compares the same trivial handler mounted bare and behind the whole
// authentication and authorization chain with a cached token (an account route, so that no
// database lookup is needed to locate the resource).
func BenchmarkMiddleware(b *testing.B) {
	db := storetest.SQLite(b)
	svc := tokens.NewService(db, nil)
	u, a := tt.User(b, db)
	_, secret, err := svc.Create(bg, tokens.Creator{UserID: u.ID}, tokens.UserOwner(u.ID), tokens.Input{Name: "bench",
		Policies: []authz.PolicyJSON{tt.Allow([]authz.Perm{authz.AccountSettingsRead}, tt.AccountKey(a.ID))}})
	if err != nil {
		b.Fatal(err)
	}
	s := newServer(Deps{DB: db, Tokens: svc, Zones: zones.NewService(db)}, []Route{
		{"GET", "/accounts/{account_id}/bench", Need(authz.AccountSettingsRead), AccountFromPath, trivial},
	})
	bare := http.NewServeMux()
	bare.HandleFunc("GET "+Prefix+"/accounts/{account_id}/bench", func(w http.ResponseWriter, r *http.Request) { _ = trivial(nil, w, r) })
	req := httptest.NewRequest("GET", Prefix+"/accounts/"+a.ID+"/bench", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("Authorization", "Bearer "+secret)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"authenticated", s}} {
		b.Run(c.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			c.h.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := discardWriter{h: http.Header{}}
				c.h.ServeHTTP(&w, req)
			}
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
