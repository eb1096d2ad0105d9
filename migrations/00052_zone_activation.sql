-- Zone activation: when a zone became active (Cloudflare's activated_on). Zones are active from
-- creation unless LATCHKEY_ZONE_ACTIVATION=delegation, where they start pending and become active
-- when an activation check finds them delegated to our name servers.

-- +goose Up
ALTER TABLE zones ADD COLUMN activated_on TIMESTAMP NULL;
UPDATE zones SET activated_on = created_at WHERE status = 'active';

-- +goose Down
ALTER TABLE zones DROP COLUMN activated_on;
