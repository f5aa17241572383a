-- Poison events and the incidents they park: later events of a parked incident wait here, unjudged,
-- because judging them on a state that misses the poison event would give wrong verdicts.
CREATE TABLE dead_letters (
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    incident_key text,
    error       text    NOT NULL,
    value       bytea,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    PRIMARY KEY (partition, "offset")
);

CREATE TABLE parked_incidents (
    incident_key text PRIMARY KEY,
    reason       text NOT NULL,
    partition    integer NOT NULL,
    "offset"     bigint  NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parked_events (
    partition    integer NOT NULL,
    "offset"     bigint  NOT NULL,
    incident_key text    NOT NULL,
    value        bytea   NOT NULL,
    PRIMARY KEY (partition, "offset")
);
CREATE INDEX parked_events_incident_idx ON parked_events (incident_key, partition, "offset");
