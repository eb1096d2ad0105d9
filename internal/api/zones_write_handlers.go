package api

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/zones"
)

// handleZoneCreate creates a zone in the account the body names (the locator read it and checked
// Zone Write over all zones of that account). jump_start is accepted and ignored: Latchkey does
// not scan for existing DNS records.
func (s *Server) handleZoneCreate(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	var b newZoneBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	switch b.Type {
	case "", "full":
	case "partial", "secondary":
		return errs.InvalidField("type", "Latchkey serves full zones only; type must be full.").WithAPICode(1001)
	default:
		return errs.InvalidField("type", "type must be full.").WithAPICode(1001)
	}
	name, err := zones.NormalizeName(b.Name)
	if err != nil {
		return withAPICode(err, 1097)
	}
	z, err := s.Zones.Create(r.Context(), s.actor(r), t.AccountID, name)
	if errs.Is(err, errs.Conflict) {
		return withAPICode(err, 1061) // Cloudflare's "already exists"; the message says where
	}
	if err != nil {
		return err
	}
	names, err := s.accountNames(r, []*store.Zone{z})
	if err != nil {
		return err
	}
	writeResult(w, s.zoneJSON(r, z, names), nil)
	return nil
}

// zonePatchBody is what PATCH /zones/{zone_id} reads: paused changes; plan and type may only
// restate the zone's current values (plans change through billing, and only full zones exist);
// vanity name servers are not supported.
type zonePatchBody struct {
	Paused   *bool   `json:"paused"`
	Type     *string `json:"type"`
	Plan     *idOnly `json:"plan"`
	VanityNS any     `json:"vanity_name_servers"`
}

func (s *Server) handleZonePatch(w http.ResponseWriter, r *http.Request) error {
	z := TargetFrom(r.Context()).Zone
	var b zonePatchBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	if b.Type != nil && *b.Type != z.Type {
		return errs.InvalidField("type", "Latchkey serves full zones only; the type cannot change.").WithAPICode(1001)
	}
	if b.Plan != nil && b.Plan.ID != "" && b.Plan.ID != z.Plan {
		return errs.InvalidField("plan.id", "The plan cannot be changed through this endpoint.").WithAPICode(1001)
	}
	if vs, ok := b.VanityNS.([]any); b.VanityNS != nil && (!ok || len(vs) > 0) {
		return errs.InvalidField("vanity_name_servers", "Vanity name servers are not supported.").WithAPICode(1001)
	}
	if b.Paused != nil && *b.Paused != z.Paused {
		var err error
		if z, err = s.Zones.SetPaused(r.Context(), s.actor(r), z.AccountID, z.ID, *b.Paused); err != nil {
			return err
		}
	}
	names, err := s.accountNames(r, []*store.Zone{z})
	if err != nil {
		return err
	}
	writeResult(w, s.zoneJSON(r, z, names), nil)
	return nil
}

func (s *Server) handleZoneDelete(w http.ResponseWriter, r *http.Request) error {
	z := TargetFrom(r.Context()).Zone
	if err := s.Zones.Delete(r.Context(), s.actor(r), z.AccountID, z.ID); err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": z.ID}, nil)
	return nil
}

// withAPICode sets a Cloudflare code on a validation error that has none.
func withAPICode(err error, code int) error {
	if e := errs.As(err); e != nil && e.APICode == 0 {
		return e.WithAPICode(code)
	}
	return err
}
