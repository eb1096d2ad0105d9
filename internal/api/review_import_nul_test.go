package api_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	tt "github.com/latchkey/latchkey/internal/tokens/tokenstest"
)

// TestDNSImportNULComment: a zone file whose record comment (the record's comment and cf_tags)
// holds a NUL character is a 400 on both databases, never a 500 (PostgreSQL refuses NUL in
// text; the multipart file is not checked as a JSON body is).
func TestDNSImportNULComment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDNSEnv(t, db)
		owner := e.token(t, e.user, tt.Allow([]authz.Perm{authz.DNSWrite}, tt.ZoneKey(e.zone.ID)))
		for _, file := range []string{"nul 300 IN A 192.0.2.50 ; a\x00b\n", "nul 300 IN A 192.0.2.51 ; cf_tags=k:a\x00b\n"} {
			form, ct := importForm(t, file, "false")
			if status, _, out := e.raw(t, owner, "POST", "/zones/"+e.zone.ID+"/dns_records/import", ct, form); status != 400 {
				t.Errorf("import %q: %d %s, want 400", file, status, out)
			}
		}
	})
}
