package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/billing"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/tokens"
	"github.com/latchkey/latchkey/web"
)

// handleTokenNew shows the template picker, or the form filled from ?template= (or empty for
// ?template=custom).
func (s *server) handleTokenNew(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, err := s.tokenScopeOf(r, p, true)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	// At the limit, say so before the form is filled in, not after its review step.
	if quota, plan, err := s.Tokens.OwnerQuota(r.Context(), sc.owner); err != nil {
		return err
	} else if _, n, err := s.Tokens.List(r.Context(), sc.owner, tokens.Page{Page: 1, PerPage: 1}); err != nil {
		return err
	} else if n >= int64(quota) {
		if plan.ID != "" && quota < tokens.Quota(sc.owner) {
			lim := billing.LimitUserTokens
			if sc.accountTokens() {
				lim = billing.LimitAccountTokens
			}
			return billing.Exceeded(plan, lim)
		}
		return errs.E(errs.Forbidden, "The limit of %d tokens is reached; delete a token you no longer use first.", quota)
	}
	slug := r.URL.Query().Get("template")
	if slug == "" {
		v := web.TokenFormView{Heading: "Create an API token", Owner: sc.ownerText, ListURL: sc.base,
			CustomURL: sc.base + "/new?template=custom"}
		for _, t := range tokens.Templates() {
			if !g.offersTemplate(t) {
				continue
			}
			v.Templates = append(v.Templates, web.TokenTemplateItem{Slug: t.Slug, Name: t.Name, Description: t.Description,
				URL: sc.base + "/new?template=" + t.Slug, Clients: templateClients[t.Slug]})
		}
		return s.render(w, r, http.StatusOK, web.TokenForm(s.page(w, r, "Create an API token", "tokens"), v))
	}
	var in tokenInput
	if slug == "custom" {
		in.Rows = []rowInput{g.defaultRow(g.current(p))}
	} else {
		t, ok := tokens.TemplateByName(slug)
		if !ok {
			return errs.E(errs.NotFound, "no such template")
		}
		in = templateInput(t, g.current(p), g.userRows)
		if t.Slug == tokens.MintTemplateSlug {
			in.Rows = g.mintingRows(in.Rows, r.URL.Query()["grant"], g.current(p))
		}
	}
	return s.renderTokenForm(w, r, sc, g, nil, in, nil, http.StatusOK)
}

// mintingRows adds to the "Create additional tokens" rows those of each chosen template (by slug),
// once each: the permissions the minted tokens may be given, which the minting token must hold.
func (g *grants) mintingRows(rows []rowInput, chosen []string, current string) []rowInput {
	key := func(r rowInput) string {
		return strings.Join([]string{r.Scope, r.Group, r.Level, r.ZoneMode, r.AccountID, r.DNSNames, r.DNSTypes}, "\x00")
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[key(r)] = true
	}
	var added []rowInput
	for _, slug := range chosen {
		t, ok := tokens.TemplateByName(slug)
		if !ok || t.Slug == tokens.MintTemplateSlug || !g.offersTemplate(t) {
			continue
		}
		for _, r := range templateInput(t, current, false).Rows {
			if !seen[key(r)] {
				seen[key(r)] = true
				added = append(added, r)
			}
		}
	}
	// The chosen permissions first, then the right to create tokens.
	return append(added, rows...)
}

// mintingView is the picker of the "Create additional tokens" form: the other templates the user
// may use, those in chosen ticked.
func (g *grants) mintingView(sc *tokenScope, chosen []string) *web.MintingView {
	m := &web.MintingView{URL: sc.base + "/new", Template: tokens.MintTemplateSlug}
	for _, t := range tokens.Templates() {
		if t.Slug == tokens.MintTemplateSlug || len(t.ZonePerms)+len(t.AccountPerms) == 0 || !g.offersTemplate(t) {
			continue
		}
		m.Choices = append(m.Choices, web.MintChoice{Slug: t.Slug, Name: t.Name, Description: t.Description,
			Checked: slices.Contains(chosen, t.Slug)})
	}
	return m
}

// offersTemplate reports whether the user holds every permission group of t somewhere, so that
// the template is worth offering.
func (g *grants) offersTemplate(t tokens.Template) bool {
	perms := slices.Concat(t.ZonePerms, t.AccountPerms)
	if g.userRows {
		perms = append(perms, t.UserPerms...)
	} else if len(perms) == 0 {
		return false
	}
	for _, p := range perms {
		if !g.anywhere(p) {
			return false
		}
	}
	return true
}

// current returns the account new rows point at: the current account when the form may name it.
func (g *grants) current(p *principal) string {
	if p.Account != nil && g.acctByID[p.Account.ID] != nil {
		return p.Account.ID
	}
	if len(g.accounts) > 0 {
		return g.accounts[0].ID
	}
	return ""
}

// handleTokenNewSubmit handles every button of the create form.
func (s *server) handleTokenNewSubmit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	sc, err := s.tokenScopeOf(r, p, true)
	if err != nil {
		return err
	}
	g, err := s.loadGrants(r, p, sc)
	if err != nil {
		return err
	}
	return s.tokenFormSubmit(w, r, p, sc, g, nil)
}

// tokenFormSubmit handles the buttons of the create and edit forms: add or remove a row,
// refresh the choices, review (the summary), back (to the form) and confirm (create or save).
// existing is the token being edited, nil when creating.
func (s *server) tokenFormSubmit(w http.ResponseWriter, r *http.Request, p *principal, sc *tokenScope, g *grants, existing *tokens.Token) error {
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := parseTokenInput(f)
	var ids []string
	for _, row := range in.Rows {
		ids = append(ids, row.ZoneIDs...)
	}
	if err := g.preloadZones(ids); err != nil {
		return err
	}
	if existing != nil {
		if err := g.preloadPolicies(existing.Policies); err != nil {
			return err
		}
	}
	// Whether the rows can express the stored policies is the server's to say, not the form's: a
	// form that leaves its marker out must not replace policies the user never saw as rows.
	in.Unrepresentable = existing != nil && g.inputFromToken(existing).Unrepresentable
	fe := newFormErrors()
	switch {
	case f.Has("add_row"):
		if len(in.Rows) >= maxRows {
			fe.field("rows", "A token has at most %d permission rows.", maxRows)
		} else {
			in.Rows = append(in.Rows, g.defaultRow(g.current(p)))
		}
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusOK)
	case f.Has("remove_row"):
		if i, err := strconv.Atoi(f.Get("remove_row")); err == nil && i >= 0 && i < len(in.Rows) {
			in.Rows = slices.Delete(in.Rows, i, i+1)
		}
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusOK)
	case f.Has("refresh"), f.Has("back"):
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusOK)
	}
	var keep []authz.PolicyJSON
	if existing != nil && in.Unrepresentable && !in.Replace {
		keep = existing.Policies
	}
	// Zone names typed into a picker (without JavaScript) become its chosen zones, or an error.
	if err := g.resolveZoneNames(&in, fe); err != nil {
		return err
	}
	if !fe.empty() {
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusUnprocessableEntity)
	}
	input, fe := g.validate(in, s.Now(), keep)
	if input == nil {
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusUnprocessableEntity)
	}
	if !f.Has("confirm") {
		return s.renderTokenSummary(w, r, sc, g, existing, in, input)
	}
	creator := tokens.Creator{Actor: s.actor(r, p.User), UserID: p.User.ID}
	if existing != nil {
		t, err := s.Tokens.Update(r.Context(), creator, sc.owner, existing.ID, *input)
		if err != nil {
			if !serviceFieldError(fe, err) {
				return err
			}
			return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusUnprocessableEntity)
		}
		s.flash(w, r, web.FlashSuccess, "Token “"+t.Name+"” saved. Its secret is unchanged.")
		redirect(w, r, sc.base)
		return nil
	}
	t, secret, err := s.Tokens.Create(r.Context(), creator, sc.owner, *input)
	if err != nil {
		if !serviceFieldError(fe, err) {
			return err
		}
		return s.renderTokenForm(w, r, sc, g, existing, in, fe, http.StatusUnprocessableEntity)
	}
	return s.renderSecret(w, r, sc, t.Name, secret, false)
}

// renderTokenForm renders the create or edit form with in and its errors.
func (s *server) renderTokenForm(w http.ResponseWriter, r *http.Request, sc *tokenScope, g *grants, existing *tokens.Token, in tokenInput, fe *formErrors, status int) error {
	v := g.formView(in, fe)
	v.Owner, v.ListURL = sc.ownerText, sc.base
	v.Action, v.Heading = sc.base+"/new", "Create an API token"
	if mint, ok := tokens.TemplateByName(tokens.MintTemplateSlug); ok && existing == nil && g.userRows && in.Template == mint.Name {
		v.Minting = g.mintingView(sc, r.URL.Query()["grant"])
	}
	if existing != nil {
		v.Editing = true
		v.Action, v.Heading = sc.base+"/"+existing.ID+"/edit", "Edit “"+existing.Name+"”"
		v.ReadOnlyURL = readOnlyURL(sc, existing)
		leaks, err := s.Tokens.LeakNotices(r.Context(), []*tokens.Token{existing})
		if err != nil {
			return err
		}
		v.LeakNotice = leakNoticeText(leaks, existing.ID)
		if err := s.lineage(r, sc, existing, &v); err != nil {
			return err
		}
		if in.Unrepresentable {
			if ps, err := authz.ParsePolicies(existing.Policies); err == nil {
				v.Current = g.describePolicies(ps)
			}
		}
	}
	return s.render(w, r, status, web.TokenForm(s.page(w, r, v.Heading, "tokens"), v))
}

// renderTokenSummary shows what the token will be able to do, with the input in hidden fields
// for Back and Create.
func (s *server) renderTokenSummary(w http.ResponseWriter, r *http.Request, sc *tokenScope, g *grants, existing *tokens.Token, in tokenInput, input *tokens.Input) error {
	v := web.TokenSummaryView{Action: sc.base + "/new", ListURL: sc.base, Name: input.Name, Owner: sc.ownerText}
	if existing != nil {
		v.Editing, v.Action = true, sc.base+"/"+existing.ID+"/edit"
	}
	ps, err := authz.ParsePolicies(input.Policies)
	if err != nil {
		return err
	}
	for _, l := range g.describePolicies(ps) {
		v.Lines = append(v.Lines, sentence(l))
	}
	for _, l := range describeConditions(input.Condition, input.NotBefore, input.ExpiresOn) {
		v.Lines = append(v.Lines, sentence(l))
	}
	vals := in.values()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, val := range vals[k] {
			v.Hidden = append(v.Hidden, web.Hidden{Name: k, Value: val})
		}
	}
	title := "Review the token"
	return s.render(w, r, http.StatusOK, web.TokenSummary(s.page(w, r, title, "tokens"), v))
}

// renderSecret shows a new secret once. It is rendered in the response to the POST that made
// it and stored nowhere; the dashboard sends Cache-Control: no-store on every page.
func (s *server) renderSecret(w http.ResponseWriter, r *http.Request, sc *tokenScope, name, secret string, rolled bool) error {
	v := web.TokenSecretView{Name: name, Secret: secret, ListURL: sc.base, Rolled: rolled,
		Curl: `curl -s -H "Authorization: Bearer ` + secret + `" ` + s.Config.BaseURL + sc.verifyPath()}
	title := "Token created"
	if rolled {
		title = "Token rolled"
	}
	return s.render(w, r, http.StatusOK, web.TokenSecret(s.page(w, r, title, "tokens"), v))
}

// acmeClients says which ACME clients Latchkey's end-to-end tests run, and how to point them at
// it; the README section "ACME DNS-01 (Let's Encrypt) with Latchkey" has the details. Caddy is
// not listed: its Cloudflare module cannot be given another base URL.
const acmeClients = "Tested with lego v5.6 (set CLOUDFLARE_BASE_URL) and certbot with certbot-dns-cloudflare " +
	"(CLOUDFLARE_API_URL for its python-cloudflare 2.x, CLOUDFLARE_BASE_URL for newer releases), " +
	"pointed at this server's /client/v4. See the README section “ACME DNS-01 (Let's Encrypt) with Latchkey”."

// templateClients are the client notes of the templates' cards, by slug.
var templateClients = map[string]string{"edit-zone-dns": acmeClients, "acme-dns-01": acmeClients}

// lineage fills the edit page's parent and children links.
func (s *server) lineage(r *http.Request, sc *tokenScope, t *tokens.Token, v *web.TokenFormView) error {
	ctx := r.Context()
	viewerID := principalFrom(r).User.ID
	if t.ParentID != "" {
		v.Parent = &web.TokenLink{ID: t.ParentID, Name: "a token that no longer exists"}
		if pt, err := s.Tokens.GetFor(ctx, viewerID, sc.owner, t.ParentID); err == nil {
			v.Parent = &web.TokenLink{ID: pt.ID, Name: pt.Name, Status: pt.Status, URL: sc.base + "/" + pt.ID + "/edit"}
		} else if !errs.Is(err, errs.NotFound) {
			return err
		} else {
			v.Parent.Name = "another token (deleted, or not in this list)"
		}
	}
	kids, err := s.Tokens.Children(ctx, sc.owner, t.ID)
	if err != nil {
		return err
	}
	for _, k := range kids {
		// A member limited to some zones is not shown a child that reaches beyond them.
		if ok, err := s.Tokens.Sees(ctx, viewerID, sc.owner, k); err != nil {
			return err
		} else if !ok {
			continue
		}
		v.Children = append(v.Children, web.TokenLink{ID: k.ID, Name: k.Name, Status: k.Status, URL: sc.base + "/" + k.ID + "/edit"})
	}
	return nil
}
