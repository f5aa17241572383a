-- The escalator's own fold of the log (it never reads the projector's tables).
CREATE TABLE escalator_incidents (
    incident_id uuid PRIMARY KEY,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE escalator_seen (
    event_id uuid PRIMARY KEY
);
