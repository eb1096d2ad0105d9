// Package audit writes Latchkey's append-only audit log. Every mutation, from the API, the
// dashboard or the admin command line, calls Record inside the same transaction as the change, so
// the log and the data can never disagree.
package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/store"
)

// Actor types.
const (
	ActorUser   = "user"
	ActorToken  = "token"
	ActorSystem = "system"
)

// Interfaces through which a change arrives.
const (
	InterfaceAPI       = "api"
	InterfaceDashboard = "dashboard"
	InterfaceCLI       = "cli"
)

// Actor is who made a change. A change made with a user-owned token is its user's: Type is
// ActorUser, ID and UserID the user's id, Email the user's, and TokenID / TokenName name the key
// used. A change made with an account-owned token is the token's: Type is ActorToken, ID and
// TokenID the token's id, UserID empty.
type Actor struct {
	Type      string
	ID        string
	UserID    string
	Email     string
	IP        string
	UserAgent string
	Interface string
	TokenID   string
	TokenName string
}

// CLI returns the actor for changes made with the admin command line.
func CLI() Actor {
	return Actor{Type: ActorSystem, ID: "latchkey-admin", Interface: InterfaceCLI}
}

// Event is what changed. Old and New are encoded as JSON (nil stays NULL); they must never hold
// secrets.
type Event struct {
	AccountID    string
	OwnerUserID  string
	Action       string
	ResourceType string
	ResourceID   string
	ZoneID       string
	ZoneName     string
	// ResourceName names the resource for people (record name, member email, token name).
	ResourceName string
	Old, New     any
	// Failed marks an attempted change that was refused; most entries record successes.
	Failed bool
	// Mirror marks a copy of a user's entry written to an account's log (see tokens): it has no
	// owner, so the user's own log shows the change once.
	Mirror bool
}

// Record appends one entry for e by a to the audit log using tx.
func Record(tx *gorm.DB, a Actor, e Event) error {
	entry := &store.AuditEntry{
		ID:           store.NewID(),
		ActorType:    a.Type,
		ActorID:      a.ID,
		ActorEmail:   a.Email,
		ActorIP:      a.IP,
		UserAgent:    a.UserAgent,
		Interface:    a.Interface,
		Action:       e.Action,
		ResourceType: e.ResourceType,
		ResourceID:   e.ResourceID,
		ZoneID:       e.ZoneID,
		ZoneName:     e.ZoneName,
		ResourceName: e.ResourceName,
		TokenID:      a.TokenID,
		TokenName:    a.TokenName,
		Result:       !e.Failed,
		CreatedAt:    time.Now().UTC(),
	}
	if e.AccountID != "" {
		entry.AccountID = &e.AccountID
	}
	// The owner is whose "my activity" log shows the entry: the acting user (or the user behind a
	// token) unless the event names one.
	owner := e.OwnerUserID
	if owner == "" {
		owner = a.UserID
	}
	if owner != "" && !e.Mirror {
		entry.OwnerUserID = &owner
	}
	var err error
	if entry.OldValue, err = encode(e.Old); err != nil {
		return err
	}
	if entry.NewValue, err = encode(e.New); err != nil {
		return err
	}
	if entry.ResourceName == "" {
		entry.ResourceName = nameOf(entry.NewValue, entry.OldValue)
	}
	return store.InsertAuditEntry(tx, entry)
}

// nameOf finds a name for people in an entry's values, the new one first: its "name", "email" or
// "title", or a firewall rule's configuration value. It returns "" when there is none.
func nameOf(values ...*string) string {
	for _, v := range values {
		if v == nil {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(*v), &m) != nil {
			continue
		}
		for _, k := range []string{"name", "email", "title"} {
			var s string
			if json.Unmarshal(m[k], &s) == nil && s != "" {
				return truncate(s, 255)
			}
		}
		var cfg struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(m["configuration"], &cfg) == nil && cfg.Value != "" {
			return truncate(cfg.Value, 255)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func encode(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit value: %w", err)
	}
	s := string(b)
	return &s, nil
}
