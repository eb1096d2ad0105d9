-- Each zone's own DNS change number (issue 10): store.RecordDNSChange advances zones.dns_seq with
-- every change to the zone or its records, in the change's transaction. The record listing keys
-- its cache of encoded pages by it (read with the zone's row in one statement), so that a change
-- to one zone no longer turns every other zone's cached pages, of every account, into misses as
-- the global counter did.

-- +goose Up
ALTER TABLE zones ADD COLUMN dns_seq BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE zones DROP COLUMN dns_seq;
