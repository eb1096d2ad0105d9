// Package geo looks up a client address's autonomous system and country in operator-provided
// MaxMind databases (GeoLite2/GeoIP2 Country, City or ASN, or any mmdb with the same fields),
// read with oschwald/maxminddb-golang.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB answers lookups from one or more mmdb files: the first file that knows an address's country
// gives the country, the first that knows its ASN gives the ASN. A nil *DB knows nothing.
type DB struct {
	readers []*maxminddb.Reader
}

// Open opens the comma-separated mmdb paths in list.
func Open(list string) (*DB, error) {
	db := &DB{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		r, err := maxminddb.Open(p)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open GeoIP database %s: %w", p, err)
		}
		db.readers = append(db.readers, r)
	}
	if len(db.readers) == 0 {
		return nil, errors.New("no GeoIP database path given")
	}
	return db, nil
}

// OpenBytes opens an mmdb held in memory (for tests).
func OpenBytes(b []byte) (*DB, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("open GeoIP database: %w", err)
	}
	return &DB{readers: []*maxminddb.Reader{r}}, nil
}

type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	ASN uint32 `maxminddb:"autonomous_system_number"`
}

// Lookup returns the autonomous system number (0 when unknown) and the ISO 3166-1 alpha-2 country
// code ("" when unknown) of ip.
func (db *DB) Lookup(ip netip.Addr) (asn uint32, country string) {
	if db == nil || !ip.IsValid() {
		return 0, ""
	}
	ip = ip.Unmap()
	for _, r := range db.readers {
		var rec record
		if err := r.Lookup(ip).Decode(&rec); err != nil {
			continue
		}
		if asn == 0 {
			asn = rec.ASN
		}
		if country == "" {
			country = strings.ToUpper(rec.Country.ISOCode)
		}
		if asn != 0 && country != "" {
			break
		}
	}
	return asn, country
}

// Close releases the databases.
func (db *DB) Close() {
	if db == nil {
		return
	}
	for _, r := range db.readers {
		r.Close()
	}
	db.readers = nil
}
