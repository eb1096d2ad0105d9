package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/authz"
	"github.com/latchkey/latchkey/internal/dns"
	"github.com/latchkey/latchkey/internal/errs"
)

// maxBatchBody bounds a batch body: MaxBatchChanges records of a few KiB each.
const maxBatchBody = 4 << 20

// readScopes returns the record filters of a DNS-constrained token (and its owner) for DNS
// Read on the zone, or nil when neither is constrained.
func readScopes(r *http.Request) []authz.RecordFilter {
	p, t := PrincipalFrom(r.Context()), TargetFrom(r.Context())
	if !p.Cred.Compiled.Constrained(authz.DNSRead, t.Resource) && !p.Access.Compiled.Constrained(authz.DNSRead, t.Resource) {
		return nil
	}
	return []authz.RecordFilter{
		p.Cred.Compiled.RecordFilter(authz.DNSRead, t.Resource, t.Zone.Name),
		p.Access.Compiled.RecordFilter(authz.DNSRead, t.Resource, t.Zone.Name),
	}
}

// handleDNSBatch applies deletes, patches, puts and posts in one transaction (cloudflare-go
// v4's Records.Batch). Every record is checked against the token's DNS constraints as a single
// write is; one failure changes nothing.
func (s *Server) handleDNSBatch(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	body, err := readBody(w, r, maxBatchBody, errs.Invalid)
	if err != nil {
		return err
	}
	b, err := dns.DecodeBatch(body)
	if err != nil {
		return err
	}
	res, err := s.DNS.Batch(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, b, dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, res, nil)
	return nil
}

// handleDNSExport answers the zone's records as a BIND zone file in text/plain, as Cloudflare
// does (no envelope). A DNS-constrained token exports only the records it may read.
func (s *Server) handleDNSExport(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	text, err := s.DNS.Export(r.Context(), t.AccountID, t.Zone.ID, readScopes(r))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
	return nil
}

// handleDNSImport creates the records of an uploaded BIND zone file: a multipart form with a
// "file" part (a file upload or a plain field, as cloudflare-go v4 sends it) and an optional
// "proxied" field (true or false). Every record is checked against the token's DNS constraints;
// one failure imports nothing.
func (s *Server) handleDNSImport(w http.ResponseWriter, r *http.Request) error {
	t := TargetFrom(r.Context())
	file, proxied, err := readImportForm(w, r)
	if err != nil {
		return err
	}
	ps, parsed, err := dns.ParseZoneFile(t.Zone.Name, file, proxied)
	if err != nil {
		return err
	}
	res, err := s.DNS.Import(r.Context(), s.actor(r), t.AccountID, t.Zone.ID, ps, parsed, dnsCheck(r))
	if err != nil {
		return err
	}
	writeResult(w, res, nil)
	return nil
}

// readImportForm reads the "file" and "proxied" parts of an import form.
func readImportForm(w http.ResponseWriter, r *http.Request) (file []byte, proxied bool, err error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return nil, false, errs.E(errs.Invalid, "Send the zone file as multipart/form-data with a \"file\" part.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, dns.MaxImportBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false, errs.E(errs.Invalid, "The multipart body is malformed.")
	}
	gotFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, formError(err)
		}
		name := part.FormName()
		if name != "file" && name != "proxied" {
			part.Close()
			return nil, false, errs.InvalidField(name, "Unknown form field %q: an import has \"file\" and \"proxied\".", name)
		}
		b, err := io.ReadAll(io.LimitReader(part, dns.MaxImportBytes+1))
		part.Close()
		if err != nil {
			return nil, false, formError(err)
		}
		if name == "file" {
			if len(b) > dns.MaxImportBytes {
				return nil, false, &errs.Error{Code: errs.TooLarge, Field: "file", Message: "A zone file has at most 1 MiB."}
			}
			file, gotFile = b, true
			continue
		}
		switch strings.TrimSpace(string(b)) {
		case "true":
			proxied = true
		case "false", "":
		default:
			return nil, false, errs.InvalidField("proxied", "proxied must be true or false.")
		}
	}
	if !gotFile {
		return nil, false, errs.InvalidField("file", "The form needs a \"file\" part holding the BIND zone file.")
	}
	return file, proxied, nil
}

func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &errs.Error{Code: errs.TooLarge, Field: "file", Message: "A zone file has at most 1 MiB."}
	}
	return errs.E(errs.Invalid, "The multipart body is malformed.")
}
