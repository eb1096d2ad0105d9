package dashboard

import (
	"slices"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/web"
)

// formView builds the form's view model. Each row offers only what the user may grant: the
// permission groups they hold somewhere, the levels they hold, and the accounts and zones where
// they hold the row's permission.
func (g *grants) formView(in tokenInput, fe *formErrors) web.TokenFormView {
	v := web.TokenFormView{Name: in.Name, IPIn: in.IPIn, IPNotIn: in.IPNotIn, NotBefore: in.NotBefore, ExpiresOn: in.ExpiresOn,
		ExactNotBefore: in.ExactNB, ExactExpiresOn: in.ExactExpires, Template: in.Template,
		Unrepresentable: in.Unrepresentable, Replace: in.Replace, Errors: map[string]string{}}
	if fe != nil {
		for k, msg := range fe.fields {
			if k == "" {
				v.Error = msg
			} else {
				v.Errors[k] = msg
			}
		}
	}
	for i, r := range in.Rows {
		row := g.rowView(i, r)
		if fe != nil {
			row.Errors = fe.rows[i]
			row.ZonePicker.Error = row.Err("zones")
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (g *grants) rowView(i int, r rowInput) web.TokenRow {
	row := web.TokenRow{Index: i, Scope: r.Scope, Group: r.Group, Level: r.Level, ZoneMode: r.ZoneMode, AccountID: r.AccountID,
		ZoneIDs: r.ZoneIDs, DNSNames: r.DNSNames, DNSTypes: r.DNSTypes, NsMode: r.NsMode, NamespaceIDs: r.NamespaceIDs}
	sc := scopeOf(r.Scope)
	for _, s := range []struct{ value, label string }{{scopeAccount, "Account"}, {scopeZone, "Zone"}, {scopeUser, "User"}} {
		if s.value == scopeUser && !g.userRows {
			continue
		}
		row.Scopes = append(row.Scopes, web.Option{Value: s.value, Label: s.label, Selected: s.value == r.Scope})
	}
	// Permission groups of the row's scope that the user holds somewhere.
	for _, l := range labels {
		if l.scope != sc {
			continue
		}
		if (l.hasRead && g.anywhere(l.read)) || (l.hasWrite && g.anywhere(l.write)) {
			row.Groups = append(row.Groups, web.Option{Value: l.name, Label: l.name, Selected: l.name == r.Group})
		}
	}
	l, ok := findLabel(sc, r.Group)
	if !ok && len(row.Groups) > 0 {
		l, _ = findLabel(sc, row.Groups[0].Value)
	}
	for _, lv := range []struct{ value, label string }{{levelRead, "Read"}, {levelEdit, "Edit"}} {
		if p, ok := l.perm(lv.value); ok && g.anywhere(p) {
			label := lv.label
			if lv.value == levelEdit && !l.hasRead {
				label = "Use"
			}
			row.Levels = append(row.Levels, web.Option{Value: lv.value, Label: label, Selected: lv.value == r.Level})
		}
	}
	perm, ok := l.perm(r.Level)
	if !ok || !g.anywhere(perm) {
		// Offer places for the level the select will show.
		if len(row.Levels) > 0 {
			perm, _ = l.perm(row.Levels[0].Value)
		}
	}
	row.IsDNS = sc == authz.ScopeZone && l.name == authz.DNSRead.Group().Label
	switch sc {
	case authz.ScopeZone:
		var accts []web.Option
		for _, a := range g.accounts {
			if g.allZonesOf(perm, a.ID) {
				accts = append(accts, web.Option{Value: a.ID, Label: a.Name, Selected: a.ID == r.AccountID})
			}
		}
		row.Accounts = accts
		if len(accts) > 0 {
			row.ZoneModes = append(row.ZoneModes,
				web.Option{Value: modeAccount, Label: "All zones of an account", Selected: r.ZoneMode == modeAccount})
		}
		row.ZoneModes = append(row.ZoneModes, web.Option{Value: modeZones, Label: "Specific zones", Selected: r.ZoneMode == modeZones})
		if len(accts) > 0 {
			row.ZoneModes = append(row.ZoneModes,
				web.Option{Value: modeExcept, Label: "All zones of an account except…", Selected: r.ZoneMode == modeExcept})
		}
		if g.userRows && g.anywhere(perm) {
			row.ZoneModes = append(row.ZoneModes,
				web.Option{Value: modeAll, Label: "All zones you can reach", Selected: r.ZoneMode == modeAll})
		}
		mode := r.ZoneMode
		if !slices.ContainsFunc(row.ZoneModes, func(o web.Option) bool { return o.Value == mode }) {
			mode = row.ZoneModes[0].Value
			row.ZoneMode = mode
		}
		if mode == modeZones || mode == modeExcept {
			// One page of matches at a time from the search, the chosen zones by id: never a
			// list of every zone the user sees.
			zp := web.ZonePicker{ID: row.ID("zones"), Field: row.Field("zones"), NamesField: row.Field("zone_names"),
				Label: "Zones", LabelSuffix: "(row " + row.Number() + ")", Chosen: g.zoneChoices(r.ZoneIDs), Names: r.ZoneNames}
			switch {
			case mode == modeExcept:
				account := r.AccountID
				if account == "" && len(accts) > 0 {
					account = accts[0].Value
				}
				zp.Label, zp.SearchURL = "Except these zones", zoneSearchURL(account, anyZonePerm)
			case len(g.accounts) == 1:
				zp.SearchURL = zoneSearchURL(g.accounts[0].ID, perm)
			default:
				zp.SearchURL = zoneSearchURL("", perm)
			}
			row.ZonePicker = zp
		}
	case authz.ScopeAccount:
		for _, a := range g.accounts {
			if g.account(perm, a.ID) {
				row.Accounts = append(row.Accounts, web.Option{Value: a.ID, Label: a.Name, Selected: a.ID == r.AccountID})
			}
		}
		if authz.IsKV(perm) {
			row.IsKV = true
			row.NsModes = []web.Option{
				{Value: nsAll, Label: "All namespaces of the account", Selected: r.NsMode == nsAll},
				{Value: nsOnly, Label: "Only some namespaces", Selected: r.NsMode == nsOnly},
				{Value: nsExcept, Label: "All namespaces except…", Selected: r.NsMode == nsExcept},
			}
			account := r.AccountID
			if account == "" && len(row.Accounts) > 0 {
				account = row.Accounts[0].Value
			}
			for _, n := range g.namespaces {
				if n.AccountID == account {
					row.Namespaces = append(row.Namespaces, web.Option{Value: n.ID, Label: n.Title, Selected: slices.Contains(r.NamespaceIDs, n.ID)})
				}
			}
		}
	}
	return row
}
