-- Releases of parked incidents are asked for through the API and carried out by the projector, which owns the
-- read model and runs the code (e.g. a new upcaster) that fixes the poison record.
CREATE TABLE release_requests (
    request_id   bigserial PRIMARY KEY,
    incident_key text        NOT NULL,
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text,       -- released | not_parked | still_poison
    detail       text,
    judged       integer,
    accepted     integer
);
CREATE INDEX release_requests_pending_idx ON release_requests (request_id) WHERE outcome IS NULL;
