-- The escalator parks an incident behind a poison record exactly like the projector does (decision 0006), so
-- both fold the same events: it never arms timers or pages for events the projector has not judged.
CREATE TABLE escalator_parked (
    incident_key text PRIMARY KEY,
    partition    integer NOT NULL,
    "offset"     bigint  NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now()
);
