package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/members"
)

// memberJSON is the account member object of API.md §4. Code is the invitation's one-time code,
// only in the response that creates it. Zones is Latchkey's extension: the zones the role is
// limited to (absent: every zone of the account), as far as the caller sees them; OtherZones
// counts the zones of that scope the caller does not see (a member limited to some zones is not
// told the others' ids).
type memberJSON struct {
	ID         string         `json:"id"`
	Code       string         `json:"code,omitempty"`
	Status     string         `json:"status"`
	User       memberUserJSON `json:"user"`
	Roles      []roleJSON     `json:"roles"`
	Zones      *[]string      `json:"zones,omitempty"`
	OtherZones int            `json:"other_zones,omitempty"`
}

type memberUserJSON struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	TwoFA     bool   `json:"two_factor_authentication_enabled"`
}

// roleJSON is the role object, with permissions in the object shape cloudflare-go decodes.
type roleJSON struct {
	ID          string                          `json:"id"`
	Name        string                          `json:"name"`
	Description string                          `json:"description"`
	Permissions map[string]authz.RolePermission `json:"permissions"`
}

func toRoleJSON(r authz.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions}
}

// toMemberJSON describes m to a caller who sees the zones for which sees is true.
func toMemberJSON(m *members.Member, sees func(zoneID string) bool) memberJSON {
	out := memberJSON{ID: m.ID, Status: m.Status, User: memberUserJSON{Email: m.Email, TwoFA: m.User != nil && m.User.TwoFactorEnabled()}, Roles: []roleJSON{}}
	if m.Zones != nil {
		zs := []string{}
		for _, z := range m.Zones {
			if sees(z) {
				zs = append(zs, z)
			} else {
				out.OtherZones++
			}
		}
		out.Zones = &zs
	}
	if m.User != nil {
		out.User.ID, out.User.FirstName, out.User.LastName = m.User.ID, m.User.FirstName, m.User.LastName
	}
	if m.Role.ID != "" {
		out.Roles = append(out.Roles, toRoleJSON(m.Role))
	}
	return out
}

// memberOrders are the values of the members list's order parameter, as cloudflare-go documents.
var memberOrders = []string{"user.first_name", "user.last_name", "user.email", "status"}

// memberStatuses are the values of the members list's status filter.
var memberStatuses = []string{"accepted", "pending", "rejected"}

// maxMembersSorted bounds how many members a filtered or ordered listing reads to sort them.
const maxMembersSorted = 10000

// zoneSeer tells which zones of the target account the caller sees: those its owner (the token's
// user, or its account) reaches, as for the audit log.
func (s *Server) zoneSeer(r *http.Request) func(zoneID string) bool {
	acc, accountID := PrincipalFrom(r.Context()).Access, TargetFrom(r.Context()).AccountID
	return func(zoneID string) bool { return acc.SeesZone(accountID, zoneID) }
}

// handleMemberList lists the account's members: page and per_page (clamped into 5..50), and
// status, order and direction as cloudflare-go's MemberListParams documents them. A filtered or
// ordered listing sorts the account's members in memory (an account has few).
func (s *Server) handleMemberList(w http.ResponseWriter, r *http.Request) error {
	page, perPage, asc, err := paging(r, 20, 5, 50)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status, order, direction := q.Get("status"), q.Get("order"), q.Get("direction")
	if status != "" && !slices.Contains(memberStatuses, status) {
		return errs.InvalidField("status", "status must be one of %s.", strings.Join(memberStatuses, ", "))
	}
	if order != "" && !slices.Contains(memberOrders, order) {
		return errs.InvalidField("order", "order must be one of %s.", strings.Join(memberOrders, ", "))
	}
	accountID := TargetFrom(r.Context()).AccountID
	sees := s.zoneSeer(r)
	if status == "" && order == "" && direction == "" {
		ms, total, err := s.Members.List(r.Context(), accountID, page, perPage)
		if err != nil {
			return err
		}
		out := make([]memberJSON, len(ms))
		for i := range ms {
			out[i] = toMemberJSON(&ms[i], sees)
		}
		writeResult(w, out, newResultInfo(page, perPage, len(out), total))
		return nil
	}
	ms, _, err := s.Members.List(r.Context(), accountID, 1, maxMembersSorted)
	if err != nil {
		return err
	}
	all := make([]memberJSON, 0, len(ms))
	for i := range ms {
		m := toMemberJSON(&ms[i], sees)
		if status == "" || m.Status == status {
			all = append(all, m)
		}
	}
	key := func(m memberJSON) string {
		switch order {
		case "user.first_name":
			return strings.ToLower(m.User.FirstName)
		case "user.last_name":
			return strings.ToLower(m.User.LastName)
		case "status":
			return m.Status
		}
		return strings.ToLower(m.User.Email)
	}
	slices.SortStableFunc(all, func(a, b memberJSON) int {
		c := strings.Compare(key(a), key(b))
		if !asc && direction != "" {
			c = -c
		}
		return c
	})
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	writeResult(w, all[start:end], newResultInfo(page, perPage, end-start, int64(len(all))))
	return nil
}

func (s *Server) handleMemberGet(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Members.Get(r.Context(), TargetFrom(r.Context()).AccountID, r.PathValue("member_id"))
	if err != nil {
		return err
	}
	writeResult(w, toMemberJSON(m, s.zoneSeer(r)), nil)
	return nil
}

// memberBody is what create and update read. roles holds role ids (create, as cloudflare-go
// sends them) or role objects (update re-sends the member it read); a Latchkey member holds
// exactly one role. policies are not supported. zones is absent (keep the current scope; every
// zone on create), null (every zone) or a list of zone ids of the account.
type memberBody struct {
	Email    string            `json:"email"`
	Roles    []json.RawMessage `json:"roles"`
	Policies []json.RawMessage `json:"policies"`
	Status   string            `json:"status"`
	Zones    json.RawMessage   `json:"zones"`
}

func (b *memberBody) change(current []string) (members.Change, error) {
	if len(b.Policies) > 0 {
		return members.Change{}, errs.InvalidField("policies", "Latchkey members hold a role: send roles, and zones to limit it to some zones.").WithAPICode(1001)
	}
	if len(b.Roles) != 1 {
		return members.Change{}, errs.InvalidField("roles", "Send exactly one role id.").WithAPICode(1001)
	}
	var c members.Change
	var id string
	if err := json.Unmarshal(b.Roles[0], &id); err != nil {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b.Roles[0], &obj); err != nil {
			return c, errs.InvalidField("roles", "A role is a role id or an object with an id.").WithAPICode(1001)
		}
		id = obj.ID
	}
	c.RoleID = id
	switch raw := bytes.TrimSpace(b.Zones); {
	case len(raw) == 0:
		c.Zones = current
	case string(raw) == "null":
		c.Zones = nil
	default:
		if err := json.Unmarshal(raw, &c.Zones); err != nil || c.Zones == nil {
			return c, errs.InvalidField("zones", "zones is a list of zone ids, or null for every zone.").WithAPICode(1001)
		}
	}
	return c, nil
}

func (s *Server) handleMemberCreate(w http.ResponseWriter, r *http.Request) error {
	var b memberBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	switch b.Status {
	case "", "pending":
	default:
		return errs.InvalidField("status", "A new member is invited and joins by accepting: status must be pending.").WithAPICode(1001)
	}
	c, err := b.change(nil)
	if err != nil {
		return err
	}
	m, code, err := s.Members.Invite(r.Context(), s.actor(r), PrincipalFrom(r.Context()), TargetFrom(r.Context()).AccountID, b.Email, c)
	if err != nil {
		return err
	}
	out := toMemberJSON(m, s.zoneSeer(r))
	out.Code = code
	writeResult(w, out, nil)
	return nil
}

func (s *Server) handleMemberUpdate(w http.ResponseWriter, r *http.Request) error {
	var b memberBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	accountID := TargetFrom(r.Context()).AccountID
	cur, err := s.Members.Get(r.Context(), accountID, r.PathValue("member_id"))
	if err != nil {
		return err
	}
	c, err := b.change(cur.Zones)
	if err != nil {
		return err
	}
	m, err := s.Members.Update(r.Context(), s.actor(r), PrincipalFrom(r.Context()), accountID, cur.ID, c)
	if err != nil {
		return err
	}
	writeResult(w, toMemberJSON(m, s.zoneSeer(r)), nil)
	return nil
}

func (s *Server) handleMemberDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("member_id")
	if err := s.Members.Remove(r.Context(), s.actor(r), PrincipalFrom(r.Context()), TargetFrom(r.Context()).AccountID, id); err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": id}, nil)
	return nil
}

// handleRoleList lists the role catalogue, which is the same for every account.
func (s *Server) handleRoleList(w http.ResponseWriter, r *http.Request) error {
	page, perPage, _, err := paging(r, 25, 1, 50)
	if err != nil {
		return err
	}
	roles := authz.Roles()
	start := min((page-1)*perPage, len(roles))
	end := min(start+perPage, len(roles))
	out := make([]roleJSON, 0, end-start)
	for _, role := range roles[start:end] {
		out = append(out, toRoleJSON(role))
	}
	writeResult(w, out, newResultInfo(page, perPage, len(out), int64(len(roles))))
	return nil
}

func (s *Server) handleRoleGet(w http.ResponseWriter, r *http.Request) error {
	role, ok := authz.RoleByID(r.PathValue("role_id"))
	if !ok {
		return errs.E(errs.NotFound, "role not found")
	}
	writeResult(w, toRoleJSON(role), nil)
	return nil
}
