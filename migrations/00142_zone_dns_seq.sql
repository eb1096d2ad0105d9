-- Each zone's last DNS change number (issue 10): store.RecordDNSChange sets zones.dns_seq to the
-- DNS change feed's sequence number of every change to the zone or its records, in the change's
-- transaction. The record listing keys its cache of encoded pages by it (read with the zone's
-- row in one statement), so that a change to one zone no longer turns every other zone's cached
-- pages, of every account, into misses as the global counter did. 0 until the zone's first
-- change after this migration: any later change moves it above every number it held before.

-- +goose Up
ALTER TABLE zones ADD COLUMN dns_seq BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE zones DROP COLUMN dns_seq;
