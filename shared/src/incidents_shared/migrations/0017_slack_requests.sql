-- Slack's signed requests seen by any command API instance (docs/decisions/0080): a signature accepted once is
-- refused when it comes again (a replay), for as long as its timestamp is inside the 5-minute window. Every
-- instance shares the table, so a replay sent to another instance is refused too. Rows whose timestamp is out of
-- the window are pruned as requests come (they could not pass the timestamp check any more).
CREATE TABLE slack_requests_seen (
    signature   text PRIMARY KEY,       -- the X-Slack-Signature header, v0=<hex>
    signed_at   timestamptz NOT NULL,   -- X-Slack-Request-Timestamp
    seen_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_requests_seen_signed_at ON slack_requests_seen (signed_at);
