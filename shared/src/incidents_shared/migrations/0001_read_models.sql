-- Read models built by the projector, and the consumer offsets stored with them.

CREATE TABLE consumer_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

CREATE TABLE incidents (
    incident_id     uuid PRIMARY KEY,
    version         integer NOT NULL,
    revision        integer NOT NULL,
    last_hash       text    NOT NULL,
    status          text    NOT NULL,
    title           text    NOT NULL,
    service         text    NOT NULL,
    source          text    NOT NULL,
    priority        text,
    category        text,
    team            text,
    assignee        text,
    major           boolean NOT NULL DEFAULT false,
    breached        boolean NOT NULL DEFAULT false,
    dedup_key       text,
    detected_at     timestamptz NOT NULL,
    logged_at       timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz,
    updated_at      timestamptz NOT NULL,
    state           jsonb   NOT NULL
);
CREATE INDEX incidents_status_idx ON incidents (status, logged_at DESC, incident_id);
CREATE INDEX incidents_service_idx ON incidents (service, logged_at DESC);
CREATE INDEX incidents_open_dedup_idx ON incidents (dedup_key) WHERE status NOT IN ('resolved', 'closed');

-- Accepted events, in stream order, hash-chained.
CREATE TABLE incident_events (
    event_id    uuid PRIMARY KEY,
    incident_id uuid    NOT NULL,
    version     integer NOT NULL,
    revision    integer NOT NULL,
    type        text    NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    actor_id    text    NOT NULL,
    event       jsonb   NOT NULL,
    prev_hash   text    NOT NULL,
    hash        text    NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    UNIQUE (incident_id, version)
);

-- Every judged event, accepted or not: the answer a waiting client gets.
CREATE TABLE event_verdicts (
    event_id     uuid PRIMARY KEY,
    incident_id  uuid    NOT NULL,
    type         text    NOT NULL,
    verdict      text    NOT NULL,
    reason       text,
    version      integer NOT NULL,
    revision     integer NOT NULL,
    hash         text,
    request_hash text,
    partition    integer NOT NULL,
    "offset"     bigint  NOT NULL,
    judged_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_verdicts_incident_idx ON event_verdicts (incident_id);
