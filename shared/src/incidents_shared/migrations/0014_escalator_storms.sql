-- No paging storms (docs/decisions/0075). Every escalator instance counts a person's pages here, whichever
-- partitions it owns: one row per person, bumped by one atomic upsert per page of a policy step.
CREATE TABLE escalator_storms (
    user_id      text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    pages        integer NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- What became of each counted page, decided once when its first contact method fired: a retried timer and the
-- page's later contact methods are decided alike (digest_id NULL: it went out).
CREATE TABLE escalator_storm_pages (
    page_id       uuid PRIMARY KEY,
    user_id       text NOT NULL,
    event_id      uuid NOT NULL,  -- the incident.paged of its first contact method
    digest_id     uuid,
    digest_due_at timestamptz,
    decided_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX escalator_storm_pages_digest ON escalator_storm_pages (digest_id) WHERE digest_id IS NOT NULL;
-- The held pages the log accepted, recorded by the fold with the rest of its batch: what a digest lists.
CREATE TABLE escalator_storm_holds (
    digest_id       uuid NOT NULL,
    page_id         uuid NOT NULL,
    seq             bigserial NOT NULL,
    user_id         text NOT NULL,
    incident_id     uuid NOT NULL,
    event_id        uuid NOT NULL,
    held_at         timestamptz NOT NULL,
    contact_kind    text NOT NULL,
    contact_address text NOT NULL,
    PRIMARY KEY (digest_id, page_id)
);
