package store

// Byte-order record names (migration 00130). ListDNSRecords compiles a token's name-prefix
// constraint (`_acme-challenge.*`, authz.NamePrefix) into the range name > 'v.' AND name < 'v/',
// which the (zone_id, name, …) and (zone_id, type, name, …) indexes serve. The range holds
// exactly the names that start with "v." only where names compare by bytes ('/' follows '.').
// SQLite compares TEXT by bytes (BINARY). PostgreSQL compares it by the database's default
// collation, which a stock server (the Docker image, most distributions) creates as glibc's
// en_US.UTF-8: that ignores punctuation at the first level, so "_acme-challenge.www.example"
// sorts after "_acme-challenge/", and the range held none of an ACME token's challenge records
// while a constraint denying "secret.*" denied none of them.
//
// The migration declares dns_records.name COLLATE "C" on PostgreSQL, so that the column, its
// indexes and every comparison and ORDER BY on it use byte order whatever the database's
// collation, and the queries stay as they are (an explicit COLLATE in a query would need indexes
// declared with the same collation to be served). Names hold only ASCII letters, digits, hyphens,
// underscores, dots and a leading "*" (dns.NormalizeName), so byte order is also the order of
// order=name on both databases. LOWER(name), used by the name filters and search, folds only
// ASCII under "C", as SQLite's LOWER does; names are ASCII and lower-case already.
//
// Changing a column's collation does not rewrite the table but rebuilds the indexes that hold
// the column (dns_records_zone_type_name_content and dns_records_zone_name_type_content; checked
// by their relfilenodes), and ALTER TABLE locks the table, reads included, meanwhile: seconds at
// a million records. SQLite needs no change, so
// its list is empty (goose still records the version).

// recordNameCollationVersion is the goose version of the byte-order record names migration
// (range 00130–00139).
const recordNameCollationVersion = 130

// recordNameCollationUp is the byte-order record names migration per dialect.
var recordNameCollationUp = map[Dialect][]string{
	SQLite:   {},
	Postgres: {`ALTER TABLE dns_records ALTER COLUMN name TYPE TEXT COLLATE "C"`},
}

// recordNameCollationDown undoes recordNameCollationUp: the column follows the database's
// default collation again.
var recordNameCollationDown = map[Dialect][]string{
	SQLite:   {},
	Postgres: {`ALTER TABLE dns_records ALTER COLUMN name TYPE TEXT COLLATE "default"`},
}

// Byte-order zone names (migration 00120). ListZones compiles ZoneFilter.Prefix, the zone
// pickers' search, into the range name >= p AND name < p' on the (account_id, name) index, which
// holds exactly the names starting with p only where names compare by bytes, for the reasons
// above; under en_US.UTF-8 a search for "a-" missed "a-shop.example". The migration declares
// zones.name COLLATE "C" on PostgreSQL (zone names are lower-case ASCII, see zones.NormalizeName,
// so byte order is also their order everywhere), rebuilding zones_account_name and zones_name.
// SQLite needs no change.

// zoneNameCollationVersion is the goose version of the byte-order zone names migration (range
// 00120–00129).
const zoneNameCollationVersion = 120

// zoneNameCollationUp is the byte-order zone names migration per dialect.
var zoneNameCollationUp = map[Dialect][]string{
	SQLite:   {},
	Postgres: {`ALTER TABLE zones ALTER COLUMN name TYPE TEXT COLLATE "C"`},
}

// zoneNameCollationDown undoes zoneNameCollationUp.
var zoneNameCollationDown = map[Dialect][]string{
	SQLite:   {},
	Postgres: {`ALTER TABLE zones ALTER COLUMN name TYPE TEXT COLLATE "default"`},
}
