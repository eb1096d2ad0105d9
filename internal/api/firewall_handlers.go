package api

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/firewall"
)

// ruleScope is the firewall scope of a request: the located zone, or the account.
func ruleScope(t *Target) firewall.Scope {
	if t.Zone != nil {
		return firewall.Zone(t.AccountID, t.Zone.ID)
	}
	return firewall.Account(t.AccountID)
}

// queryInt reads an optional whole-number query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errs.InvalidField(name, "%s must be a whole number.", name)
	}
	return n, nil
}

// firstQuery returns the first non-empty value among the given query parameters (the official
// dotted names and cloudflare-go v0.119's underscored ones).
func firstQuery(r *http.Request, names ...string) string {
	q := r.URL.Query()
	for _, n := range names {
		if v := q.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// handleAccessRuleList lists the rules of the zone or account with upstream's filters and exact
// paging.
func (s *Server) handleAccessRuleList(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	sc := ruleScope(t)
	p := firewall.ListParams{
		Mode:      r.URL.Query().Get("mode"),
		Notes:     r.URL.Query().Get("notes"),
		Target:    firstQuery(r, "configuration.target", "configuration_target"),
		Value:     firstQuery(r, "configuration.value", "configuration_value"),
		Match:     r.URL.Query().Get("match"),
		Order:     r.URL.Query().Get("order"),
		Direction: r.URL.Query().Get("direction"),
	}
	var err error
	if p.Page, err = queryInt(r, "page"); err != nil {
		return err
	}
	if p.PerPage, err = queryInt(r, "per_page"); err != nil {
		return err
	}
	if p.Page < 0 {
		return errs.InvalidField("page", "page counts from 1.")
	}
	rules, pg, err := s.Firewall.List(r.Context(), sc, p)
	if err != nil {
		return err
	}
	// scope_type narrows to rules of one scope type; an endpoint holds rules of its own only.
	if st := r.URL.Query().Get("scope_type"); st != "" {
		want := firewall.ScopeAccount
		if t.Zone != nil {
			want = firewall.ScopeZone
		}
		if st != want {
			rules, pg.Count, pg.TotalCount, pg.TotalPages = []firewall.Rule{}, 0, 0, 0
		}
	}
	writeResult(w, rules, &ResultInfo{Page: pg.Page, PerPage: pg.PerPage, Count: pg.Count,
		TotalCount: int(pg.TotalCount), TotalPages: int(pg.TotalPages)})
	return nil
}

// accessRuleBody is the body of a create or update; cloudflare-go also sends scope, allowed_modes
// and zero dates, which are ignored.
type accessRuleBody struct {
	Mode          *string                 `json:"mode"`
	Notes         *string                 `json:"notes"`
	Configuration *firewall.Configuration `json:"configuration"`
}

func (s *Server) handleAccessRuleCreate(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b accessRuleBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	in := firewall.Input{}
	if b.Mode != nil {
		in.Mode = *b.Mode
	}
	if b.Notes != nil {
		in.Notes = *b.Notes
	}
	if b.Configuration != nil {
		in.Configuration = *b.Configuration
	}
	rule, err := s.Firewall.Create(r.Context(), s.actor(r), ruleScope(t), in)
	if err != nil {
		return err
	}
	writeResult(w, rule, nil)
	return nil
}

func (s *Server) handleAccessRuleGet(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	rule, err := s.Firewall.Get(r.Context(), ruleScope(t), r.PathValue("rule_id"))
	if err != nil {
		return err
	}
	writeResult(w, rule, nil)
	return nil
}

// handleAccessRulePatch changes the mode and notes sent; the configuration cannot change.
func (s *Server) handleAccessRulePatch(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b accessRuleBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	rule, err := s.Firewall.Update(r.Context(), s.actor(r), ruleScope(t), r.PathValue("rule_id"),
		firewall.Patch{Mode: b.Mode, Notes: b.Notes, Configuration: b.Configuration})
	if err != nil {
		return err
	}
	writeResult(w, rule, nil)
	return nil
}

func (s *Server) handleAccessRuleDelete(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	id := r.PathValue("rule_id")
	if err := s.Firewall.Delete(r.Context(), s.actor(r), ruleScope(t), id); err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": id}, nil)
	return nil
}
