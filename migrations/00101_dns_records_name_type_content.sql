-- DNS record lists by name read from one index too (issue 10): order=name (name, type, the
-- content's first 100 characters, id) and, more common, a `name=` filter in the default order
-- (type, …), whose name is then a constant: the index delivers the rest of the order for that
-- name alone. With only (zone_id, name, type), SQLite preferred walking the whole zone through
-- dns_records_zone_type_name_content (which delivers the default order) and filtering on the
-- name over seeking the name and sorting its records. substr(content, 1, 100) as in migration
-- 00100 (a whole TXT content can exceed PostgreSQL's B-tree entry limit).
--
-- It replaces dns_records_zone_name (zone_id, name, type), a prefix of it: its other users
-- (DNSRecordsNamed, DNSRecordConflicts, EdgeOriginRecords, name suffix tests) seek or range over
-- (zone_id, name) and are served the same way.

-- +goose Up
CREATE INDEX dns_records_zone_name_type_content ON dns_records (zone_id, name, type, substr(content, 1, 100), id);
DROP INDEX dns_records_zone_name;

-- +goose Down
CREATE INDEX dns_records_zone_name ON dns_records (zone_id, name, type);
DROP INDEX dns_records_zone_name_type_content;
