package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/latchkey/latchkey/internal/accounts"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/internal/zones"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// createToken makes a user-owned token for the user with email, from a policies file or a
// template. The token is capped by the user's own access, like one made in the dashboard.
func createToken(ctx context.Context, db *store.DB, email, name, policiesFile, template string, zoneNames []string) (*tokens.Token, string, error) {
	norm, err := accounts.NormalizeEmail(email)
	if err != nil {
		return nil, "", err
	}
	u, err := store.UserByEmail(db.Gorm(ctx), norm)
	if errs.Is(err, errs.NotFound) {
		return nil, "", errs.InvalidField("email", "No user has the email %s.", norm)
	}
	if err != nil {
		return nil, "", err
	}
	var policies []authz.PolicyJSON
	if policiesFile != "" {
		b, err := os.ReadFile(policiesFile)
		if err != nil {
			return nil, "", errs.InvalidField("policies_file", "Cannot read the policies file: %v", err)
		}
		if err := authz.StrictPolicies(b); err != nil {
			return nil, "", errs.InvalidField("policies_file", "The policies file has a field Latchkey does not know: %v", err)
		}
		if err := json.Unmarshal(b, &policies); err != nil {
			return nil, "", errs.InvalidField("policies_file", "The policies file must hold a JSON array of policies: %v", err)
		}
	} else {
		if policies, err = templatePolicies(ctx, db, u.ID, template, zoneNames); err != nil {
			return nil, "", err
		}
	}
	svc := tokens.NewService(db, nil)
	actor := audit.CLI()
	actor.UserID = u.ID
	return svc.Create(ctx, tokens.Creator{Actor: actor, UserID: u.ID}, tokens.UserOwner(u.ID),
		tokens.Input{Name: name, Policies: policies})
}

func templatePolicies(ctx context.Context, db *store.DB, userID, name string, zoneNames []string) ([]authz.PolicyJSON, error) {
	t, ok := tokens.TemplateByName(name)
	if !ok {
		return nil, errs.InvalidField("template", "Unknown template %q; choose one of %s.", name, strings.Join(tokens.TemplateNames(), ", "))
	}
	accs, err := store.AccountsOfUser(db.Gorm(ctx), userID)
	if err != nil {
		return nil, err
	}
	accountIDs := make([]string, len(accs))
	for i, a := range accs {
		accountIDs[i] = a.ID
	}
	var refs []tokens.ZoneRef
	for _, zn := range zoneNames {
		n, err := zones.NormalizeName(zn)
		if err != nil {
			return nil, errs.InvalidField("zone", "%s", errs.MessageOf(err))
		}
		zs, _, err := store.ListZones(db.Gorm(ctx), store.ZoneFilter{AccountIDs: accountIDs, Name: n})
		if err != nil {
			return nil, err
		}
		if len(zs) == 0 {
			return nil, errs.InvalidField("zone", "No zone named %s in the user's accounts.", n)
		}
		if len(zs) > 1 {
			return nil, errs.InvalidField("zone", "%s exists in %d of the user's accounts; use --policies-file to say which.", n, len(zs))
		}
		refs = append(refs, tokens.ZoneRef{AccountID: zs[0].AccountID, ZoneID: zs[0].ID})
	}
	ps, err := t.Policies(userID, accountIDs, refs)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	return ps, nil
}
