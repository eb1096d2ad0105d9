// Package audit writes Latchkey's append-only audit log. Every mutation, from the API, the
// dashboard or the admin command line, calls Record inside the same transaction as the change, so
// the log and the data can never disagree.
package audit

import (
	"encoding/json"
	"fmt"
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

// Actor is who made a change. For a token, ID is the token id and UserID its owning user (empty
// for account-owned tokens).
type Actor struct {
	Type      string
	ID        string
	UserID    string
	Email     string
	IP        string
	UserAgent string
	Interface string
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
	Old, New     any
	// Failed marks an attempted change that was refused; most entries record successes.
	Failed bool
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
	if owner != "" {
		entry.OwnerUserID = &owner
	}
	var err error
	if entry.OldValue, err = encode(e.Old); err != nil {
		return err
	}
	if entry.NewValue, err = encode(e.New); err != nil {
		return err
	}
	return store.InsertAuditEntry(tx, entry)
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
