package dashboard

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/bodylimit"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/input"
	"github.com/latchkey/latchkey/web"
)

// maxBulkDelete bounds how many records one bulk delete may name (the batch limit).
const maxBulkDelete = dns.MaxBatchChanges

// dnsOptions returns the type and TTL choices of a record form with f's values selected.
func dnsOptions(f web.Form) (types, ttls []web.Option) {
	for _, t := range dns.Types {
		types = append(types, web.Option{Value: t, Label: t, Selected: t == f.Value("type")})
	}
	for _, ttl := range dnsTTLs {
		ttls = append(ttls, web.Option{Value: strconv.Itoa(ttl), Label: web.TTLLabel(ttl), Selected: strconv.Itoa(ttl) == f.Value("ttl")})
	}
	return types, ttls
}

// recordForm is the edit form filled in with rec.
func recordForm(rec *dns.Record) web.Form {
	f := web.Form{Values: map[string]string{"type": rec.Type, "name": rec.Name, "content": rec.Content,
		"ttl": strconv.Itoa(rec.TTL), "comment": rec.Comment}, Errors: map[string]string{}}
	if rec.Priority != nil {
		f.Values["priority"] = strconv.Itoa(*rec.Priority)
	}
	if rec.Proxied {
		f.Values["proxied"] = "1"
	}
	return f
}

// handleDNSEditForm shows a record's edit form.
func (s *server) handleDNSEditForm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, rec, err := s.writableRecord(r, p)
	if err != nil {
		return err
	}
	return s.renderDNSEdit(w, r, p, http.StatusOK, z.ID, rec, recordForm(rec))
}

func (s *server) renderDNSEdit(w http.ResponseWriter, r *http.Request, p *principal, status int, zoneID string, rec *dns.Record, f web.Form) error {
	z, err := s.Zones.Get(r.Context(), p.Account.ID, zoneID)
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "dns")
	if err != nil {
		return err
	}
	v := web.DNSEditView{Zone: hdr, Record: recordView(rec), Form: f}
	v.TypeOptions, v.TTLs = dnsOptions(f)
	return s.render(w, r, status, web.DNSRecordEdit(s.page(w, r, "Edit record · "+z.Name, "zones"), v))
}

// handleDNSEdit changes every field of a record with the same validation as adding one; tags
// and fields the form does not show are kept. Bad input comes back beside its field.
func (s *server) handleDNSEdit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := parseForm(w, r, dnsFields...)
	if err != nil {
		return err
	}
	z, rec, err := s.writableRecord(r, p)
	if err != nil {
		return err
	}
	params, ok := dnsParams(&f)
	if ok {
		var out *dns.Record
		out, err = s.DNS.Patch(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, rec.ID, params, nil)
		if err == nil {
			s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Saved the %s record %s.", out.Type, out.Name))
			redirect(w, r, "/zones/"+z.ID+"/dns")
			return nil
		}
		if !fieldError(&f, err, dnsFields...) {
			return err
		}
	}
	return s.renderDNSEdit(w, r, p, http.StatusUnprocessableEntity, z.ID, rec, f)
}

// handleDNSBulkDelete deletes the ticked records: without confirm it asks first, listing them;
// with confirm it deletes them in one transaction (one audit entry per record).
func (s *server) handleDNSBulkDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	if _, err := parseForm(w, r, "confirm"); err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSWrite, "Changing the DNS records")
	if err != nil {
		return err
	}
	ids := r.PostForm["id"]
	base := "/zones/" + z.ID + "/dns"
	if len(ids) == 0 {
		s.flash(w, r, web.FlashError, "Tick the records to delete first.")
		redirect(w, r, base)
		return nil
	}
	if len(ids) > maxBulkDelete {
		return errs.E(errs.Invalid, "At most %d records can be deleted at once.", maxBulkDelete)
	}
	if r.PostFormValue("confirm") == "" {
		hdr, err := s.zoneHeader(r, p, z, "dns")
		if err != nil {
			return err
		}
		v := web.DNSBulkDeleteView{Zone: hdr}
		for _, id := range ids {
			rec, err := s.DNS.Get(r.Context(), p.Account.ID, z.ID, id)
			if err != nil {
				return err
			}
			v.Records = append(v.Records, recordView(rec))
		}
		return s.render(w, r, http.StatusOK, web.DNSBulkDelete(s.page(w, r, "Delete records · "+z.Name, "zones"), v))
	}
	res, err := s.DNS.Batch(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, dns.Batch{Deletes: ids}, nil)
	if err != nil {
		return err
	}
	s.flash(w, r, web.FlashSuccess, fmt.Sprintf("Deleted %d records.", len(res.Deletes)))
	redirect(w, r, base)
	return nil
}

// handleDNSExport downloads the zone's records as a BIND zone file.
func (s *server) handleDNSExport(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSRead, "The DNS records")
	if err != nil {
		return err
	}
	text, err := s.DNS.Export(r.Context(), p.Account.ID, z.ID, nil)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": z.Name + ".txt"}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
	return nil
}

// handleDNSImportForm shows the zone file import form.
func (s *server) handleDNSImportForm(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSWrite, "Changing the DNS records")
	if err != nil {
		return err
	}
	return s.renderDNSImport(w, r, p, http.StatusOK, z.ID, web.Form{Values: map[string]string{}, Errors: map[string]string{}})
}

func (s *server) renderDNSImport(w http.ResponseWriter, r *http.Request, p *principal, status int, zoneID string, f web.Form) error {
	z, err := s.Zones.Get(r.Context(), p.Account.ID, zoneID)
	if err != nil {
		return err
	}
	hdr, err := s.zoneHeader(r, p, z, "dns")
	if err != nil {
		return err
	}
	v := web.DNSImportView{Zone: hdr, Form: f, MaxRecords: dns.MaxImportRecords}
	return s.render(w, r, status, web.DNSImport(s.page(w, r, "Import records · "+z.Name, "zones"), v))
}

// readImport reads the import form: an uploaded file ("upload") or pasted text ("file"), and
// the proxied default. It takes multipart and urlencoded bodies.
func readImport(w http.ResponseWriter, r *http.Request) (web.Form, error) {
	f := web.Form{Values: map[string]string{}, Errors: map[string]string{}}
	limit := int64(dns.MaxImportBytes + 64<<10)
	if err := bodylimit.Reserve(r, 2*bodylimit.Declared(r, limit)); err != nil {
		return f, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return f, errs.E(errs.Invalid, "The form could not be read (a zone file may be at most %d KiB). Reload the page and try again.", dns.MaxImportBytes>>10)
	}
	f.Values["file"] = r.PostFormValue("file")
	f.Values["proxied"] = r.PostFormValue("proxied")
	if r.MultipartForm != nil {
		if fh := r.MultipartForm.File["upload"]; len(fh) > 0 && fh[0].Size > 0 {
			fl, err := fh[0].Open()
			if err != nil {
				return f, errs.E(errs.Invalid, "The uploaded file could not be read.")
			}
			b, err := io.ReadAll(io.LimitReader(fl, dns.MaxImportBytes+1))
			_ = fl.Close()
			if err != nil {
				return f, errs.E(errs.Invalid, "The uploaded file could not be read.")
			}
			if len(b) > dns.MaxImportBytes {
				f.Errors["file"] = fmt.Sprintf("A zone file may be at most %d KiB.", dns.MaxImportBytes>>10)
				return f, nil
			}
			f.Values["file"] = string(b)
		}
	}
	if err := input.Text("file", f.Values["file"]); err != nil {
		f.Values["file"] = ""
		f.Errors["file"] = "The zone file must be UTF-8 text."
	}
	return f, nil
}

// handleDNSImport creates the records of a BIND zone file in one transaction, each checked as
// adding it alone would be; one bad record imports nothing and the form comes back with why.
func (s *server) handleDNSImport(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r)
	f, err := readImport(w, r)
	if err != nil {
		return err
	}
	z, err := s.zonePage(r, p, r.PathValue("id"), authz.DNSWrite, "Changing the DNS records")
	if err != nil {
		return err
	}
	if len(f.Errors) == 0 && strings.TrimSpace(f.Value("file")) == "" {
		f.Errors["file"] = "Choose a zone file or paste its text."
	}
	if len(f.Errors) == 0 {
		ps, parsed, err := dns.ParseZoneFile(z.Name, []byte(f.Value("file")), f.Value("proxied") != "")
		if err == nil {
			var res *dns.ImportResult
			res, err = s.DNS.Import(r.Context(), s.actor(r, p.User), p.Account.ID, z.ID, ps, parsed, nil)
			if err == nil {
				msg := fmt.Sprintf("Imported %d of the %d records in the file.", res.RecsAdded, res.TotalRecordsParsed)
				if skipped := res.TotalRecordsParsed - res.RecsAdded; skipped > 0 {
					msg += fmt.Sprintf(" Skipped %d: records already in the zone, and the SOA and apex NS records, which Latchkey's name servers answer.", skipped)
				}
				s.flash(w, r, web.FlashSuccess, msg)
				redirect(w, r, "/zones/"+z.ID+"/dns")
				return nil
			}
		}
		if e := errs.As(err); e != nil && (e.Code == errs.Invalid || e.Code == errs.Conflict) {
			f.Errors["file"] = e.Message
		} else {
			return err
		}
	}
	return s.renderDNSImport(w, r, p, http.StatusUnprocessableEntity, z.ID, f)
}
