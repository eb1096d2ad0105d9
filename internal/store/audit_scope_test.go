package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestAuditLogZoneScope: the audit log of a reader limited to some zones of an account of 2,000
// zones, tested in SQL against the reader's scope (store.ZoneScope) rather than a list of every
// zone of the account. For scopes of a few zones, of most zones (a list long enough to bind as one
// parameter), and of all zones but some (an exclude-style grant, short and long), the page, the
// total and the cursor pages hold exactly the entries about no zone or about a zone of the
// account in the scope: an entry about a zone outside it, or about a zone that no longer exists,
// stays hidden. Zone ids in old and new values outside the scope read as store.HiddenZoneID.
func TestAuditLogZoneScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := seedAccount(t, db)
		_, b := seedAccount(t, db)
		zs := insertZones(t, db, a.ID, 2000)
		theirs := insertZones(t, db, b.ID, 1)[0]
		gone := store.NewID() // a zone deleted since its entry was written
		exists := map[string]bool{}
		for _, z := range zs {
			exists[z.ID] = true
		}
		// Entries: one about each of these zones, and entries about no zone whose values name
		// zones (as a member's scope or a token's policies do).
		about := []string{zs[0].ID, zs[1].ID, zs[700].ID, zs[1500].ID, zs[1999].ID, gone, theirs.ID}
		values := []string{
			`{"zones":["` + zs[0].ID + `","` + zs[1999].ID + `"]}`,
			`{"resources":{"com.cloudflare.api.account.zone.` + zs[1500].ID + `":"*"},"gone":"` + gone + `"}`,
			`{"other":"` + theirs.ID + `","hex":"` + zs[1].ID + `ff"}`,
		}
		now := time.Now().UTC().Add(-time.Hour)
		var entries []store.AuditEntry
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			add := func(zoneID string, v *string) error {
				e := store.AuditEntry{ID: store.NewID(), AccountID: &a.ID, ActorType: "user", ActorID: "u", Action: "zone.update",
					ResourceType: "zone", ResourceID: zoneID, ZoneID: zoneID, NewValue: v, Result: true,
					CreatedAt: now.Add(time.Duration(len(entries)) * time.Second)}
				if err := store.InsertAuditEntry(tx, &e); err != nil {
					return err
				}
				entries = append(entries, e)
				return nil
			}
			for _, z := range about {
				if err := add(z, nil); err != nil {
					return err
				}
			}
			for i := range values {
				if err := add("", &values[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ids := func(zs []store.Zone) []string {
			out := make([]string, len(zs))
			for i, z := range zs {
				out[i] = z.ID
			}
			slices.Sort(out)
			return out
		}
		sorted := func(l ...string) []string { slices.Sort(l); return l }
		scopes := []struct {
			name  string
			scope store.ZoneScope
		}{
			{"a few zones (and others of no use here)", store.ZoneScope{Only: sorted(zs[0].ID, zs[1500].ID, theirs.ID, gone)}},
			{"most zones, bound as one parameter", store.ZoneScope{Only: ids(zs[:1600])}},
			{"no zone", store.ZoneScope{}},
			{"all but two zones", store.ZoneScope{All: true, Except: sorted(zs[1].ID, zs[1999].ID)}},
			{"all but a thousand zones, bound as one parameter", store.ZoneScope{All: true, Except: ids(zs[1000:])}},
		}
		for _, sc := range scopes {
			// What the reader may see: entries about no zone, or about a zone of the account in
			// the scope, newest first.
			var want []string
			for i := len(entries) - 1; i >= 0; i-- {
				e := entries[i]
				if e.ZoneID == "" || exists[e.ZoneID] && sc.scope.Contains(e.ZoneID) {
					want = append(want, e.ID)
				}
			}
			f := store.AuditFilter{AccountID: a.ID, LimitZones: true, Zones: sc.scope}
			got, total, err := store.ListAuditEntries(db.Gorm(ctx), f)
			if err != nil {
				t.Fatalf("%s: %v", sc.name, err)
			}
			if total != int64(len(want)) || !slices.Equal(entryIDs(got), want) {
				t.Fatalf("%s: %d entries (total %d) %v, want %v", sc.name, len(got), total, entryIDs(got), want)
			}
			// Cursor pages of two (audit logs v2) walk the same entries.
			var walked []string
			f.NoCount, f.Limit = true, 2
			for {
				page, _, err := store.ListAuditEntries(db.Gorm(ctx), f)
				if err != nil {
					t.Fatalf("%s: cursor page: %v", sc.name, err)
				}
				walked = append(walked, entryIDs(page)...)
				if len(page) < 2 {
					break
				}
				last := page[len(page)-1]
				f.After = &store.AuditCursor{At: last.CreatedAt, ID: last.ID}
			}
			if !slices.Equal(walked, want) {
				t.Fatalf("%s: cursor pages %v, want %v", sc.name, walked, want)
			}
			// Values: the account's zones outside the scope are hidden; others stay as they are
			// (another account's zone, a deleted zone, a longer hex string).
			for _, e := range got {
				if e.NewValue == nil {
					continue
				}
				v := *e.NewValue
				for _, z := range zs {
					if strings.Contains(v, z.ID) && !sc.scope.Contains(z.ID) {
						t.Fatalf("%s: a value names a zone outside the scope: %s", sc.name, v)
					}
				}
				if strings.Contains(v, `"other"`) && !strings.Contains(v, theirs.ID) {
					t.Fatalf("%s: another account's zone id was replaced: %s", sc.name, v)
				}
				if strings.Contains(v, `"zones"`) {
					want := values[0]
					for _, z := range []string{zs[0].ID, zs[1999].ID} {
						if !sc.scope.Contains(z) {
							want = strings.ReplaceAll(want, z, store.HiddenZoneID)
						}
					}
					if v != want {
						t.Fatalf("%s: value %s, want %s", sc.name, v, want)
					}
				}
				if strings.Contains(v, `"hex"`) && !sc.scope.Contains(zs[1].ID) && strings.Contains(v, zs[1].ID) {
					t.Fatalf("%s: a hidden zone's id inside a longer hex string was kept: %s", sc.name, v)
				}
				if strings.Contains(v, `"gone"`) && !strings.Contains(v, gone) {
					t.Fatalf("%s: a deleted zone's id (no zone of the account) was replaced: %s", sc.name, v)
				}
			}
		}
		// Without a limit every entry is listed, values untouched.
		got, total, err := store.ListAuditEntries(db.Gorm(ctx), store.AuditFilter{AccountID: a.ID})
		if err != nil || total != int64(len(entries)) || len(got) != len(entries) || *got[2].NewValue != values[0] {
			t.Fatalf("unlimited: %d entries, total %d, %v", len(got), total, err)
		}
	})
}

func entryIDs(es []store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
