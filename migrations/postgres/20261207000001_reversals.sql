-- Conversions over their whole life: a reversal link, reply rules and conditions per link;
-- reversals of reported signups; reversal deliveries beside signup deliveries.

ALTER TABLE affiliate_links
    ADD COLUMN reversal_url TEXT NOT NULL DEFAULT '' CHECK (length(reversal_url) <= 2048),
    -- Delivered means 2xx and, when set, a reply that contains the one and not the other.
    ADD COLUMN success_contains TEXT NOT NULL DEFAULT '',
    ADD COLUMN success_not_contains TEXT NOT NULL DEFAULT '',
    -- JSON of domain::conditions::ConditionsInput; {} fires for every counted signup.
    ADD COLUMN conditions TEXT NOT NULL DEFAULT '{}';

-- What each link did for the signup (JSON: [{"link", "fired", "detail"}]): fired as a server
-- call or a pixel, or skipped by its conditions, with the reason.
ALTER TABLE signups ADD COLUMN link_outcomes TEXT NOT NULL DEFAULT '[]';

CREATE TABLE reversals (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signup_id    BIGINT NOT NULL REFERENCES signups (id),
    -- The caller's reversal_id: a repeat gets the first answer, another body a 409.
    reversal_key TEXT   NOT NULL,
    reason       TEXT   NOT NULL CHECK (reason IN ('refund', 'chargeback', 'cancellation')),
    amount       TEXT   NOT NULL,
    reversed_at  TIMESTAMPTZ NOT NULL,
    request_hash TEXT   NOT NULL,
    -- The 201 answer as sent (JSON), with each link's step.
    answer       TEXT   NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (signup_id, reversal_key)
);

ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_state_check,
    ADD CONSTRAINT deliveries_state_check CHECK (state IN
        ('pending', 'delivered', 'failing', 'failed', 'exhausted', 'cancelled', 'held')),
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'signup' CHECK (kind IN ('signup', 'reversal')),
    ADD COLUMN reversal_id BIGINT REFERENCES reversals (id),
    -- A held reversal delivery waits for this signup delivery's call to end.
    ADD COLUMN parent_id BIGINT REFERENCES deliveries (id),
    -- A reversal arrived while this delivery's call was under way: unless that call is
    -- delivered, the delivery ends cancelled.
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    -- The link's reply rules when the delivery was queued, as its URL is.
    ADD COLUMN success_contains TEXT NOT NULL DEFAULT '',
    ADD COLUMN success_not_contains TEXT NOT NULL DEFAULT '';

CREATE INDEX deliveries_held ON deliveries (parent_id) WHERE state = 'held';
CREATE INDEX reversals_recent ON reversals (signup_id);
