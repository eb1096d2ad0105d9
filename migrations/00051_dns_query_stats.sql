-- DNS analytics: how many queries each zone answered, per hour, query name, type and response
-- code. The DNS server counts in memory and adds its counts here in batches (an upsert that adds
-- to count), so several server processes add up exactly. hour is the Unix time of the hour's
-- start; qname is the lower-case query name with its trailing dot ('' collects names beyond the
-- per-batch cap).

-- +goose Up
CREATE TABLE dns_query_stats (
    zone_id TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    hour    BIGINT NOT NULL,
    qname   TEXT NOT NULL,
    qtype   TEXT NOT NULL,
    rcode   TEXT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (zone_id, hour, qname, qtype, rcode)
);
CREATE INDEX dns_query_stats_hour ON dns_query_stats (hour);

-- +goose Down
DROP TABLE dns_query_stats;
