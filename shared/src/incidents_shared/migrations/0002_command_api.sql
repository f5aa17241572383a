-- Answers remembered per principal and Idempotency-Key, so a retry gets the same answer.
CREATE TABLE idempotency_keys (
    principal    text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    command_id   uuid NOT NULL,
    status_code  integer,
    response     jsonb,
    etag         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
