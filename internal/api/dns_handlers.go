package api

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/tokens"
)

// decideDNS applies a token's DNS record constraints (and its owner's) to one record.
func decideDNS(p *tokens.Principal, perm authz.Perm, t *Target, rec *dns.Record) authz.Decision {
	return authz.BothDNS(p.Cred.Compiled, p.Access.Compiled, perm, t.Resource, t.Zone.Name, rec.Name, rec.Type)
}

// dnsCheck is the dns.Check of a mutation: the record as it was and as it will be must both lie
// within what the token may write. It runs inside the service's transaction, so the record
// cannot change between the check and the write.
func dnsCheck(r *http.Request) dns.Check {
	p, t := PrincipalFrom(r.Context()), TargetFrom(r.Context())
	return func(old, new *dns.Record) error {
		for _, rec := range []*dns.Record{old, new} {
			if rec == nil {
				continue
			}
			if d := decideDNS(p, authz.DNSWrite, t, rec); !d.Allowed {
				return denial(10000, d.Perm, d.Resource.Key(), d.Reason())
			}
		}
		return nil
	}
}

// handleDNSList lists the zone's records with Cloudflare's filters and exact paging. A token
// whose DNS Read grant is narrowed to some records sees only those, and the counts cover only
// those.
func (s *Server) handleDNSList(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	o, err := dns.ParseListQuery(r.URL.Query())
	if err != nil {
		return err
	}
	// The constraints become conditions of the query, so the database filters and pages.
	o.Scopes = readScopes(r)
	page, err := s.DNS.ListJSON(r.Context(), t.AccountID, t.Zone.ID, o)
	if err != nil {
		return err
	}
	return writeResultJSON(w, &ResultInfo{Page: page.Page, PerPage: page.PerPage, Count: page.Count,
		TotalCount: page.TotalCount, TotalPages: page.TotalPages}, func(b []byte) ([]byte, error) {
		return append(b, page.Result...), nil
	})
}

func (s *Server) handleDNSGet(w http.ResponseWriter, r *http.Request) error {
	p, t := PrincipalFrom(r.Context()), TargetFrom(r.Context())
	rec, err := s.DNS.Get(r.Context(), t.AccountID, t.Zone.ID, r.PathValue("record_id"))
	if err != nil {
		return err
	}
	if d := decideDNS(p, authz.DNSRead, t, rec); !d.Allowed {
		return denial(10000, d.Perm, d.Resource.Key(), d.Reason())
	}
	writeResult(w, rec, nil)
	return nil
}

func (s *Server) dnsParams(w http.ResponseWriter, r *http.Request) (dns.Params, error) {
	body, err := readBody(w, r, maxBody, errs.Invalid)
	if err != nil {
		return dns.Params{}, err
	}
	return dns.DecodeParams(body)
}

func (s *Server) handleDNSCreate(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	in, err := s.dnsParams(w, r)
	if err != nil {
		return err
	}
	rec, err := s.DNS.Create(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, in, dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, rec, nil)
	return nil
}

// handleDNSPatch changes the fields sent (cloudflare-go's UpdateDNSRecord).
func (s *Server) handleDNSPatch(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	in, err := s.dnsParams(w, r)
	if err != nil {
		return err
	}
	rec, err := s.DNS.Patch(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, r.PathValue("record_id"), in, dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, rec, nil)
	return nil
}

// handleDNSPut replaces the record: fields not sent take their defaults.
func (s *Server) handleDNSPut(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	in, err := s.dnsParams(w, r)
	if err != nil {
		return err
	}
	rec, err := s.DNS.Put(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, r.PathValue("record_id"), in, dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, rec, nil)
	return nil
}

func (s *Server) handleDNSDelete(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	rec, err := s.DNS.Delete(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, r.PathValue("record_id"), dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": rec.ID}, nil)
	return nil
}

// handlePurge records a cache purge (see package purge: there is no edge cache yet). The
// result is {"id": zone_id}, as Cloudflare answers.
func (s *Server) handlePurge(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	body, err := readBody(w, r, maxBody, errs.Invalid)
	if err != nil {
		return err
	}
	req, err := purge.DecodeRequest(body)
	if err != nil {
		return err
	}
	if _, err := s.Purge.Purge(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, req); err != nil {
		return err
	}
	writeResult(w, map[string]string{"id": t.Zone.ID}, nil)
	return nil
}

// handlePurgeList lists the zone's recorded purges, newest first (Latchkey's extension).
func (s *Server) handlePurgeList(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	page, perPage, _, err := paging(r, purge.DefaultPerPage, 1, purge.MaxPerPage)
	if err != nil {
		return err
	}
	entries, total, err := s.Purge.List(r.Context(), t.AccountID, t.Zone.ID, page, perPage)
	if err != nil {
		return err
	}
	writeResult(w, entries, newResultInfo(page, perPage, len(entries), int64(total)))
	return nil
}
