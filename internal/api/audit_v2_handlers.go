package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
)

// Audit logs v2 paging: limit is clamped into 1..auditV2MaxLimit (default auditV2DefaultLimit).
const (
	auditV2DefaultLimit = 100
	auditV2MaxLimit     = 1000
)

// auditV2Filters are the filters of GET /accounts/{id}/logs/audit that Latchkey honours, by
// query parameter: each takes repeated values (any of them matches) and has a ".not" form
// (none of them matches), as cloudflare-go v4's LogAuditListParams documents.
var auditV2Filters = map[string]store.AuditField{
	"id":               store.AuditID,
	"audit_log_id":     store.AuditID,
	"action_result":    store.AuditResult,
	"action_type":      store.AuditActionVerb,
	"actor_context":    store.AuditActorContext,
	"actor_email":      store.AuditActorEmail,
	"actor_id":         store.AuditActorID,
	"actor_ip_address": store.AuditActorIP,
	"actor_token_id":   store.AuditTokenID,
	"actor_token_name": store.AuditTokenName,
	"actor_type":       store.AuditActorKind,
	"resource_id":      store.AuditResourceID,
	"resource_scope":   store.AuditScope,
	"resource_type":    store.AuditResourceType,
	"zone_id":          store.AuditZoneID,
	"zone_name":        store.AuditZoneName,
}

// auditV2Unsupported are the filters the SDK documents that Latchkey cannot honour, with why.
var auditV2Unsupported = map[string]string{
	"raw_cf_ray_id":    "Latchkey's audit entries do not record the request's Ray ID",
	"raw_method":       "Latchkey's audit entries do not record the raw request",
	"raw_status_code":  "Latchkey's audit entries do not record the response status",
	"raw_uri":          "Latchkey's audit entries do not record the request URI",
	"resource_product": "Latchkey does not classify audit entries by Cloudflare product; filter by resource_type",
}

// auditV2Enums are the values an enumerated filter accepts.
var auditV2Enums = map[string][]string{
	"action_result":  {"success", "failure"},
	"action_type":    {"create", "delete", "update", "view", "login", "logout"},
	"actor_context":  {"api_key", "api_token", "dash", "oauth", "origin_ca_key"},
	"actor_type":     {"account", "cloudflare_admin", "system", "user"},
	"resource_scope": {"accounts", "user", "zones"},
}

// auditV2Query is a parsed audit logs v2 request.
type auditV2Query struct {
	filter      store.AuditFilter
	accountName struct {
		in, not []string
	}
}

// parseAuditV2 reads the query of GET /accounts/{id}/logs/audit. since and before are required,
// as Cloudflare documents; every other parameter is one the SDK documents and Latchkey honours,
// and anything else is refused with 400 naming it.
func parseAuditV2(r *http.Request) (*auditV2Query, error) {
	q := r.URL.Query()
	out := &auditV2Query{}
	f := &out.filter
	f.NoCount, f.Limit = true, auditV2DefaultLimit
	for key, vals := range q {
		base, op, hasOp := strings.Cut(key, ".")
		if hasOp && op != "not" {
			return nil, errs.InvalidField(key, "Unknown parameter %q: filters take repeated values, or exclude them with %s.not.", key, base)
		}
		if why, ok := auditV2Unsupported[base]; ok {
			return nil, errs.InvalidField(key, "The %s filter is not supported: %s.", base, why)
		}
		field, isFilter := auditV2Filters[base]
		switch {
		case base == "account_name":
			if hasOp {
				out.accountName.not = append(out.accountName.not, vals...)
			} else {
				out.accountName.in = append(out.accountName.in, vals...)
			}
			continue
		case isFilter:
		case hasOp:
			return nil, errs.InvalidField(key, "Unknown parameter %q.", key)
		case base == "since" || base == "before" || base == "limit" || base == "cursor" || base == "direction":
			if len(vals) > 1 {
				return nil, errs.InvalidField(key, "Give %s once.", key)
			}
			continue
		default:
			return nil, errs.InvalidField(key, "Unknown parameter %q; see docs/api-compatibility.md for the filters of this endpoint.", key)
		}
		var values []string
		for _, v := range vals {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					values = append(values, s)
				}
			}
		}
		if len(values) == 0 {
			return nil, errs.InvalidField(key, "%s needs a value.", key)
		}
		if allowed, ok := auditV2Enums[base]; ok {
			for _, v := range values {
				if !contains(allowed, v) {
					return nil, errs.InvalidField(key, "%s is one of %s; got %q.", key, strings.Join(allowed, ", "), v)
				}
			}
		}
		switch base {
		case "actor_email", "zone_name":
			for i := range values {
				values[i] = strings.TrimSuffix(strings.ToLower(values[i]), ".")
			}
		case "actor_ip_address":
			for i, v := range values {
				ip, err := netip.ParseAddr(v)
				if err != nil {
					return nil, errs.InvalidField(key, "%s takes IP addresses; got %q.", key, v)
				}
				values[i] = ip.Unmap().String()
			}
		}
		f.Conds = append(f.Conds, store.AuditCond{Field: field, Values: values, Not: hasOp})
	}
	var err error
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"before", &f.Before}} {
		s := q.Get(b.name)
		if s == "" {
			return nil, errs.InvalidField(b.name, "%s is required: an RFC 3339 time or a date (YYYY-MM-DD).", b.name)
		}
		if *b.dst, err = auditTime(s, b.name); err != nil {
			return nil, err
		}
	}
	if !f.Before.After(f.Since) {
		return nil, errs.InvalidField("before", "before must be later than since.")
	}
	switch q.Get("direction") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return nil, errs.InvalidField("direction", "direction is asc or desc.")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n != float64(int(n)) {
			return nil, errs.InvalidField("limit", "limit must be a whole number.")
		}
		f.Limit = min(max(int(n), 1), auditV2MaxLimit)
	}
	if s := q.Get("cursor"); s != "" {
		c, ok := decodeAuditCursor(s)
		if !ok {
			return nil, errs.InvalidField("cursor", "cursor must be a cursor from a previous page's result_info.")
		}
		f.After = c
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// encodeAuditCursor makes the opaque cursor that follows entry e.
func encodeAuditCursor(e *store.AuditEntry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.CreatedAt.UnixNano(), 10) + ":" + e.ID))
}

func decodeAuditCursor(s string) (*store.AuditCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || !store.ValidID(id) {
		return nil, false
	}
	return &store.AuditCursor{At: time.Unix(0, n).UTC(), ID: id}, true
}

// auditV2JSON is one entry in the shape of Cloudflare's audit logs v2.
type auditV2JSON struct {
	ID       string          `json:"id"`
	Account  auditV2Named    `json:"account"`
	Action   auditV2Action   `json:"action"`
	Actor    auditV2Actor    `json:"actor"`
	Raw      auditV2Raw      `json:"raw"`
	Resource auditV2Resource `json:"resource"`
	Zone     auditV2Named    `json:"zone"`
}

type auditV2Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type auditV2Action struct {
	Description string    `json:"description"`
	Result      string    `json:"result"`
	Time        time.Time `json:"time"`
	Type        string    `json:"type"`
}

type auditV2Actor struct {
	ID        string `json:"id"`
	Context   string `json:"context"`
	Email     string `json:"email"`
	IPAddress string `json:"ip_address"`
	TokenID   string `json:"token_id"`
	TokenName string `json:"token_name"`
	Type      string `json:"type"`
}

// auditV2Raw carries what Latchkey records of the request: only the user agent.
type auditV2Raw struct {
	UserAgent string `json:"user_agent"`
}

type auditV2Resource struct {
	ID       string `json:"id"`
	Product  string `json:"product"`
	Request  any    `json:"request"`
	Response any    `json:"response"`
	Scope    string `json:"scope"`
	Type     string `json:"type"`
}

// toAuditV2 maps an entry into the v2 shape. Type, result, actor type, context and scope are
// computed as the store's derived fields are, so the filters select what the entries show.
func toAuditV2(e *store.AuditEntry, account *store.Account) auditV2JSON {
	out := auditV2JSON{ID: e.ID, Account: auditV2Named{ID: account.ID, Name: account.Name},
		Action: auditV2Action{Description: e.Action, Result: "success", Time: e.CreatedAt.UTC(), Type: store.AuditVerb(e.Action)},
		Actor: auditV2Actor{ID: e.ActorID, Email: e.ActorEmail, IPAddress: e.ActorIP, TokenID: e.TokenID, TokenName: e.TokenName,
			Type: e.ActorType},
		Raw:      auditV2Raw{UserAgent: e.UserAgent},
		Resource: auditV2Resource{ID: e.ResourceID, Type: e.ResourceType, Scope: "accounts"},
		Zone:     auditV2Named{ID: e.ZoneID, Name: e.ZoneName}}
	if !e.Result {
		out.Action.Result = "failure"
	}
	if e.ActorType == "token" {
		out.Actor.Type = "account"
	}
	switch {
	case e.TokenID != "":
		out.Actor.Context = "api_token"
	case e.Interface == "dashboard":
		out.Actor.Context = "dash"
	}
	if e.ZoneID != "" {
		out.Resource.Scope = "zones"
	}
	out.Resource.Request, out.Resource.Response = auditAny(e.OldValue), auditAny(e.NewValue)
	return out
}

// auditAny is a stored value as JSON: the value before a change is the v2 entry's
// resource.request, the value after it resource.response.
func auditAny(v *string) any {
	if v == nil {
		return nil
	}
	var out any
	if json.Unmarshal([]byte(*v), &out) == nil {
		return out
	}
	return *v
}

// auditV2Response is the envelope of a v2 listing: its result_info is {count, cursor, per_page}.
type auditV2Response struct {
	Success    bool          `json:"success"`
	Errors     []errorItem   `json:"errors"`
	Messages   []message     `json:"messages"`
	Result     []auditV2JSON `json:"result"`
	ResultInfo struct {
		Count   int    `json:"count"`
		Cursor  string `json:"cursor"`
		PerPage int    `json:"per_page"`
	} `json:"result_info"`
}

// handleAccountAuditLogsV2 lists the account's audit log in the shape of Cloudflare's audit logs
// v2 (GET /accounts/{id}/logs/audit), with cursor paging. As in the v1 listing, what the token's
// owner may see bounds the log.
func (s *Server) handleAccountAuditLogsV2(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAuditV2(r)
	if err != nil {
		return err
	}
	f := q.filter
	f.AccountID = TargetFrom(r.Context()).AccountID
	tx := s.DB.Gorm(r.Context())
	account, err := store.AccountByID(tx, f.AccountID)
	if err != nil {
		return err
	}
	resp := auditV2Response{Success: true, Errors: []errorItem{}, Messages: []message{}, Result: []auditV2JSON{}}
	resp.ResultInfo.PerPage = f.Limit
	// The listing is of one account, so its name filter keeps all of it or none.
	if (len(q.accountName.in) > 0 && !contains(q.accountName.in, account.Name)) || contains(q.accountName.not, account.Name) {
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	acc := PrincipalFrom(r.Context()).Access
	f.LimitZones, f.Zones = acc.VisibleZones(f.AccountID)
	if f.LimitZones {
		if f.HideTokens, err = s.Tokens.HiddenFrom(r.Context(), viewer(r), f.AccountID); err != nil {
			return err
		}
	}
	// One more than the page tells whether a next page exists.
	f.Limit++
	es, _, err := store.ListAuditEntries(tx, f)
	if err != nil {
		return err
	}
	more := len(es) > resp.ResultInfo.PerPage
	if more {
		es = es[:resp.ResultInfo.PerPage]
	}
	for i := range es {
		resp.Result = append(resp.Result, toAuditV2(&es[i], account))
	}
	resp.ResultInfo.Count = len(resp.Result)
	if more {
		resp.ResultInfo.Cursor = encodeAuditCursor(&es[len(es)-1])
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
