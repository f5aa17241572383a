-- The escalator's policies, durable timers and notification outbox, written with its offsets.
CREATE TABLE escalator_policies (
    policy_id     text NOT NULL,
    version       integer NOT NULL,
    content_hash  text NOT NULL,
    document      jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, version)
);

-- timer_id is the id of the event the timer emits: uuid5(incident, rule, step, due).
CREATE TABLE escalator_timers (
    timer_id       uuid PRIMARY KEY,
    seq            bigserial NOT NULL,
    incident_id    uuid NOT NULL,
    kind           text NOT NULL,
    step           integer NOT NULL DEFAULT 0,
    due_at         timestamptz NOT NULL,
    partition      integer NOT NULL,
    causation_id   text NOT NULL,
    correlation_id text NOT NULL,
    payload        jsonb NOT NULL DEFAULT '{}',
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
    armed_at       timestamptz NOT NULL DEFAULT now(),
    fired_at       timestamptz
);
CREATE INDEX escalator_timers_due ON escalator_timers (partition, due_at) WHERE status = 'pending';
CREATE INDEX escalator_timers_incident ON escalator_timers (incident_id) WHERE status = 'pending';

-- delivery_id is the receiver's Idempotency-Key: uuid5(event, channel, target).
CREATE TABLE escalator_outbox (
    delivery_id     uuid PRIMARY KEY,
    seq             bigserial NOT NULL,
    incident_id     uuid NOT NULL,
    about_event_id  uuid NOT NULL,
    partition       integer NOT NULL,
    channel         text NOT NULL,
    kind            text NOT NULL,
    url             text NOT NULL,
    target          text NOT NULL,
    body            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX escalator_outbox_due ON escalator_outbox (partition, next_attempt_at) WHERE status = 'pending';
