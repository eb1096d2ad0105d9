-- The default order of a DNS record list (type, name, then the content's first 100 characters,
-- then id) read from one index, so that a page is the index's next rows and a count of records
-- constrained by type and name (an ACME token's `_acme-challenge.*` TXT records, or lego's and
-- certbot's `type=TXT&name=…` lookups) reads index entries only (issue 10). internal/store's
-- TestListQueryPlans checks both plans on SQLite and PostgreSQL.
--
-- The index holds substr(content, 1, 100), not content: a TXT record's content may be 2,048
-- characters of up to 4 bytes each, and PostgreSQL refuses to insert a row whose B-tree entry
-- exceeds 2,704 bytes; 100 characters keep every entry far below it (name is at most 253
-- bytes). ListDNSRecords orders by the same expression, so ties beyond 100 characters of content
-- fall back to id.
--
-- It replaces dns_records_zone_type_name (zone_id, type, name), a prefix of it: every query that
-- index served (ListDNSRecords's order=type pages and its counts with type conditions) is served
-- by this one.

-- +goose Up
CREATE INDEX dns_records_zone_type_name_content ON dns_records (zone_id, type, name, substr(content, 1, 100), id);
DROP INDEX dns_records_zone_type_name;

-- +goose Down
CREATE INDEX dns_records_zone_type_name ON dns_records (zone_id, type, name);
DROP INDEX dns_records_zone_type_name_content;
