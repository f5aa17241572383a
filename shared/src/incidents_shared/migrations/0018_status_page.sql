-- The public status page and its email subscribers (docs/decisions/0081).
-- Subscribers: an address waits for its confirmation (double opt-in) and is erased by unsubscribing. Tokens are
-- never stored, only the SHA-256 (hex) of each: a copy of this table cannot confirm or unsubscribe anybody.
CREATE TABLE status_subscribers (
    subscriber_id      uuid PRIMARY KEY,
    email              text NOT NULL UNIQUE,  -- lower-cased
    confirm_hash       text UNIQUE,           -- the pending confirmation's token; NULL once confirmed
    confirm_expires_at timestamptz,
    created_at         timestamptz NOT NULL,
    confirmed_at       timestamptz
);

-- One token per mail sent to a subscriber (its List-Unsubscribe link, RFC 8058); gone with the subscriber.
CREATE TABLE status_unsubscribe_tokens (
    token_hash    text PRIMARY KEY,
    subscriber_id uuid NOT NULL REFERENCES status_subscribers ON DELETE CASCADE,
    created_at    timestamptz NOT NULL
);
CREATE INDEX status_unsubscribe_tokens_subscriber_idx ON status_unsubscribe_tokens (subscriber_id);

-- The escalator's outbox of customers updates: one row per (update, subscriber confirmed at the time), so each
-- subscriber gets each update once; retried on temporary SMTP errors. The address is read at send time.
CREATE TABLE status_mail_outbox (
    update_event_id uuid NOT NULL,
    subscriber_id   uuid NOT NULL REFERENCES status_subscribers ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    PRIMARY KEY (update_event_id, subscriber_id)
);
CREATE INDEX status_mail_outbox_due_idx ON status_mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX status_mail_outbox_subscriber_idx ON status_mail_outbox (subscriber_id);

-- The status page, the feed and the outbox read the customers updates by time.
CREATE INDEX incident_events_customer_updates_idx ON incident_events (occurred_at DESC)
    WHERE type = 'incident.stakeholder_update_posted' AND event -> 'data' ->> 'audience' = 'customers';
