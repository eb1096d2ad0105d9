-- Billing (issue 13): each account's plan and its Stripe customer and subscription, and the Stripe
-- webhook events already applied (so a redelivered event is applied once).

-- +goose Up
CREATE TABLE account_billing (
    account_id             TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    plan                   TEXT NOT NULL DEFAULT 'free',
    status                 TEXT NOT NULL DEFAULT '',
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT,
    current_period_end     TIMESTAMP,
    past_due_since         TIMESTAMP,
    -- event_created is the Stripe "created" time (Unix seconds) of the last subscription event
    -- applied: an older event arriving late is not applied over a newer one.
    event_created          BIGINT NOT NULL DEFAULT 0,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX account_billing_customer ON account_billing (stripe_customer_id);

CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    created      BIGINT NOT NULL,
    processed_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE stripe_events;
DROP TABLE account_billing;
