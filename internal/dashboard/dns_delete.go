package dashboard

import (
	"fmt"
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/web"
)

// writableRecord loads the zone and the record named by the path for a change.
func (s *server) writableRecord(r *http.Request, p *principal) (*store.Zone, *dns.Record, error) {
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSWrite, "Changing the DNS records")
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.DNS.Get(r.Context(), p.Account.ID, z.ID, r.PathValue("record"))
	if err != nil {
		return nil, nil, err
	}
	return z, rec, nil
}

// handleDNSDeleteConfirm asks to confirm a record's deletion.
func (s *server) handleDNSDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, rec, err := s.writableRecord(r, p)
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "dns")
	if err != nil {
		return err
	}
	v := web.DNSDeleteView{Zone: hdr, Record: recordView(rec)}
	return s.render(w, r, http.StatusOK, web.DNSRecordDelete(s.page(w, r, "Delete record · "+z.Name, "zones"), v))
}

// handleDNSDelete deletes the record once confirmed.
func (s *server) handleDNSDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, rec, err := s.writableRecord(r, p)
	if err != nil {
		return err
	}
	if _, err := s.DNS.Delete(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, rec.ID, nil); err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Deleted the %s record %s.", rec.Type, rec.Name))
	redirect(w, r, "/zones/"+z.ID+"/dns")
	return nil
}
