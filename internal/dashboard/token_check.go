package dashboard

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// handleTokenCheck answers "can this token do X?" with the API's own rules: the token's
// policies and its owner's current access must both allow the permission on the resource
// (authz.Both, as tokens.Principal.Decide does), the token must be active and inside its
// validity window, and the client address inside its IP filter.
func (s *server) handleTokenCheck(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, err := s.tokenScopeOf(r, p, false)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	ctx := r.Context()
	q := r.URL.Query()
	v := web.TokenCheckView{ListURL: sc.base, Action: sc.base + "/check", Errors: map[string]string{},
		Name: q.Get("name"), Type: q.Get("type"), IP: q.Get("ip")}
	list, _, err := s.Tokens.ListFor(ctx, p.User.ID, sc.owner, tokens.Page{Page: 1, PerPage: tokens.MaxAccountTokens})
	if err != nil {
		return err
	}
	tokenID, permID, resID := q.Get("token"), q.Get("perm"), q.Get("resource")
	for _, t := range list {
		v.Tokens = append(v.Tokens, web.Option{Value: t.ID, Label: t.Name, Selected: t.ID == tokenID})
	}
	for _, sc := range []struct {
		scope authz.Scope
		label string
	}{{authz.ScopeZone, "Zone"}, {authz.ScopeAccount, "Account"}, {authz.ScopeUser, "User"}} {
		grp := web.OptionGroup{Label: sc.label}
		for _, gr := range authz.Groups() {
			if gr.Scope == sc.scope && (sc.scope != authz.ScopeUser || g.userRows) {
				grp.Options = append(grp.Options, web.Option{Value: gr.ID, Label: gr.Name, Selected: gr.ID == permID})
			}
		}
		if len(grp.Options) > 0 {
			v.Perms = append(v.Perms, grp)
		}
	}
	// A zone is chosen with a zone picker (one zone, searched), not from a list of them all.
	zp := web.ZonePicker{ID: "field-zone", Field: "zone", NamesField: "zone_name", Label: "Or a zone", Single: true,
		Names: strings.TrimSpace(q.Get("zone_name"))}
	if len(g.accounts) == 1 {
		zp.SearchURL = zoneSearchURL(g.accounts[0].ID, anyZonePerm)
	} else {
		zp.SearchURL = zoneSearchURL("", anyZonePerm)
	}
	if resID == "" && zp.Names != "" {
		ids, msg, err := g.finder.byNames(zp.Names)
		if err != nil {
			return err
		}
		switch {
		case msg != "":
			v.Errors["resource"], zp.Error = msg, msg
		case len(ids) > 1:
			v.Errors["resource"], zp.Error = "Check one zone at a time.", "Check one zone at a time."
		case len(ids) == 1:
			resID, zp.Names = "zone:"+ids[0], ""
		}
	}
	if z := q.Get("zone"); resID == "" && z != "" {
		resID = "zone:" + z
	}
	if kind, id, _ := strings.Cut(resID, ":"); kind == "zone" {
		if z := g.zoneFor(id); z != nil {
			zp.Chosen = []web.Option{{Value: z.ID, Label: z.Name, Selected: true}}
		}
	}
	v.Zone = zp
	acctGrp := web.OptionGroup{Label: "Accounts"}
	for _, a := range g.accounts {
		acctGrp.Options = append(acctGrp.Options, web.Option{Value: "account:" + a.ID, Label: a.Name, Selected: "account:"+a.ID == resID})
	}
	nsGrp := web.OptionGroup{Label: "Workers KV namespaces"}
	for _, n := range g.namespaces {
		val := "namespace:" + n.AccountID + ":" + n.ID
		nsGrp.Options = append(nsGrp.Options, web.Option{Value: val, Label: n.Title + " (" + g.accountName(n.AccountID) + ")", Selected: val == resID})
	}
	for _, grp := range []web.OptionGroup{acctGrp, nsGrp} {
		if len(grp.Options) > 0 {
			v.Resources = append(v.Resources, grp)
		}
	}
	if g.userRows {
		v.Resources = append(v.Resources, web.OptionGroup{Label: "User", Options: []web.Option{
			{Value: "user:" + p.User.ID, Label: "You (" + p.User.Email + ")", Selected: "user:"+p.User.ID == resID}}})
	}
	if tokenID == "" && permID == "" && resID == "" && len(v.Errors) == 0 {
		return s.render(w, r, http.StatusOK, web.TokenCheck(s.page(w, r, "Can this token do it?", "tokens"), v))
	}

	// The question.
	t, err := s.Tokens.GetFor(ctx, p.User.ID, sc.owner, tokenID)
	if errs.Is(err, errs.NotFound) {
		v.Errors["token"] = "Choose one of the tokens listed."
	} else if err != nil {
		return err
	}
	group, ok := authz.GroupByID(permID)
	if !ok {
		v.Errors["perm"] = "Choose a permission."
	}
	res, zoneName, ok := g.checkResource(resID, p.User.ID)
	if !ok && v.Errors["resource"] == "" {
		v.Errors["resource"] = "Choose one of the accounts or namespaces listed, or search for a zone."
	}
	if t != nil {
		if err := g.preloadPolicies(t.Policies); err != nil {
			return err
		}
	}
	var ip netip.Addr
	if v.IP != "" {
		if ip, err = netip.ParseAddr(strings.TrimSpace(v.IP)); err != nil {
			v.Errors["ip"] = "Enter an IP address such as 203.0.113.7, or leave it empty."
		}
	}
	if len(v.Errors) > 0 {
		return s.render(w, r, http.StatusUnprocessableEntity, web.TokenCheck(s.page(w, r, "Can this token do it?", "tokens"), v))
	}
	if err := s.answerCheck(r, &v, g, t, group.Perm, res, zoneName, ip); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, web.TokenCheck(s.page(w, r, "Can this token do it?", "tokens"), v))
}

// checkResource resolves "zone:<id>", "account:<id>", "namespace:<account>:<id>" or "user:<id>"
// among the resources the page offers.
func (g *grants) checkResource(v, userID string) (authz.Resource, string, bool) {
	kind, id, _ := strings.Cut(v, ":")
	switch kind {
	case "zone":
		if z := g.zoneFor(id); z != nil {
			return authz.Zone(z.AccountID, z.ID), z.Name, true
		}
	case "account":
		if a := g.acctByID[id]; a != nil {
			return authz.Account(a.ID), "", true
		}
	case "user":
		if g.userRows && id == userID {
			return authz.User(id), "", true
		}
	case "namespace":
		a, ns, _ := strings.Cut(id, ":")
		if n := g.nsByID[ns]; n != nil && n.AccountID == a {
			return authz.KVNamespace(a, ns), "", true
		}
	}
	return authz.Resource{}, "", false
}

// describeResource names a resource for the answer.
func (g *grants) describeResource(r authz.Resource) string {
	switch r.Scope {
	case authz.ScopeZone:
		return g.zoneName(r.ID)
	case authz.ScopeAccount:
		if r.Namespace != "" {
			return "the KV namespace " + g.namespaceName(r.Namespace) + " in " + g.accountName(r.ID)
		}
		return "the account " + g.accountName(r.ID)
	}
	return "your user"
}

// answerCheck fills the verdict and its reasons.
func (s *server) answerCheck(r *http.Request, v *web.TokenCheckView, g *grants, t *tokens.Token, perm authz.Perm, res authz.Resource, zoneName string, ip netip.Addr) error {
	ps, err := authz.ParsePolicies(t.Policies)
	if err != nil {
		return err
	}
	token := authz.Compile(ps)
	var owner *authz.Compiled
	ownerText := "its owner (you)"
	if t.Owner.Kind == tokens.OwnerAccount {
		// An account-owned token is bounded by its account, as in tokens.Service.Authenticate.
		owner = authz.Compile(tokens.AccountScope(t.Owner.AccountID))
		ownerText = "its account"
	} else {
		acc, err := tokens.UserAccess(s.DB.Gorm(r.Context()), t.Owner.UserID)
		if err != nil {
			return err
		}
		owner = acc.Compiled
	}
	var d authz.Decision
	record := ""
	if (perm == authz.DNSRead || perm == authz.DNSWrite) && res.Scope == authz.ScopeZone && (v.Name != "" || v.Type != "") {
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v.Name)), ".")
		switch {
		case name == "" || name == "@":
			name = zoneName
		case name != zoneName && !strings.HasSuffix(name, "."+zoneName):
			name += "." + zoneName
		}
		rtype := strings.ToUpper(strings.TrimSpace(v.Type))
		d = authz.BothDNS(token, owner, perm, res, zoneName, name, rtype)
		record = " for the " + strings.TrimSpace(rtype+" record") + " " + name
	} else {
		d = authz.Both(token, owner, perm, res)
	}
	what := perm.String() + " on " + g.describeResource(res) + record
	v.Answered = true
	pass := func(name, text string) {
		v.Checks = append(v.Checks, web.CheckStep{Name: name, State: "pass", Text: text})
	}
	fail := func(name, text string) {
		v.Checks = append(v.Checks, web.CheckStep{Name: name, State: "fail", Text: text})
	}
	skip := func(name, text string) {
		v.Checks = append(v.Checks, web.CheckStep{Name: name, State: "skip", Text: text})
	}

	// 1 and 2: the token's policies, then its owner's current access (authz.Both).
	const policyStep, ownerStep = "Token policies", "Owner's access"
	switch {
	case d.Allowed:
		pass(policyStep, "The token's policies grant "+what+".")
		pass(ownerStep, sentence(ownerText)+" may do it too.")
	case perm.Scope() != res.Scope:
		fail(policyStep, perm.String()+" applies to "+perm.Scope().String()+"s, not to "+res.Scope.String()+"s.")
		skip(ownerStep, "Not checked: the policies already refuse.")
	case d.Owner:
		pass(policyStep, "The token's policies grant "+what+".")
		fail(ownerStep, sentence(ownerText)+" no longer holds "+what+": a token never does more than its owner may do now. ("+d.Reason()+")")
	case d.Cause == authz.Denied:
		fail(policyStep, "A deny policy of the token takes "+what+" away. ("+d.Reason()+")")
		skip(ownerStep, "Not checked: the policies already refuse.")
	case d.Cause == authz.OutsideConstraint:
		fail(policyStep, "The token may only touch some DNS records here, and this record is not one of them. ("+d.Reason()+")")
		skip(ownerStep, "Not checked: the policies already refuse.")
	default:
		fail(policyStep, "No policy of the token grants "+what+". ("+d.Reason()+")")
		skip(ownerStep, "Not checked: the policies already refuse.")
	}
	allowed := d.Allowed

	// 3: status and validity window.
	const validStep = "Status and validity"
	now := s.Now().UTC()
	switch {
	case t.Status == tokens.StatusDisabled:
		allowed = false
		fail(validStep, "The token is disabled: every request with it is refused until it is enabled again.")
	case t.Status == tokens.StatusExpired:
		allowed = false
		fail(validStep, "The token expired on "+t.ExpiresOn.UTC().Format("2006-01-02 15:04")+" UTC: every request with it is refused.")
	case t.NotBefore != nil && now.Before(*t.NotBefore):
		allowed = false
		fail(validStep, "The token is not valid yet: it works from "+t.NotBefore.UTC().Format("2006-01-02 15:04")+" UTC.")
	case t.ExpiresOn != nil:
		pass(validStep, "The token is active and valid until "+t.ExpiresOn.UTC().Format("2006-01-02 15:04")+" UTC.")
	default:
		pass(validStep, "The token is active and has no expiry date.")
	}

	// 4: the client address.
	const ipStep = "IP filter"
	ipOnly := ""
	rules, err := authz.ParseCondition(t.Condition)
	if err != nil {
		return err
	}
	switch {
	case rules == nil:
		pass(ipStep, "The token has no IP filter: any client address may use it.")
	case !ip.IsValid():
		ipOnly = " from the addresses its IP filter allows"
		skip(ipStep, "The token works only "+strings.Join(ipLines(t.Condition), "; ")+". Enter a client address to check it.")
	case rules.Allows(ip):
		pass(ipStep, "Requests from "+ip.String()+" pass the token's IP filter ("+strings.Join(ipLines(t.Condition), "; ")+").")
	default:
		allowed = false
		fail(ipStep, "Requests from "+ip.String()+" are refused by the token's IP filter ("+strings.Join(ipLines(t.Condition), "; ")+").")
	}
	v.Allowed = allowed
	if allowed {
		v.Verdict = "Yes: “" + t.Name + "” can use " + what + ipOnly + "."
	} else {
		v.Verdict = "No: “" + t.Name + "” cannot use " + what + "."
	}
	return nil
}
