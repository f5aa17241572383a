-- Notes are searched one row each (docs/decisions/0054). Before, incidents.search was generated over all of an
-- incident's notes_text, so every event of an incident with many notes re-parsed all of them and re-indexed the
-- result: the biggest statement in PostgreSQL's profile (bench/profiles/postgres.md). notes_text stays (the
-- invariant checker and the rebuild checksum compare it); it is no longer parsed.
CREATE TABLE incident_notes (
    event_id    uuid PRIMARY KEY,
    incident_id uuid NOT NULL,
    body        text NOT NULL,
    search      tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', body), 'C')) STORED
);
CREATE INDEX incident_notes_incident_idx ON incident_notes (incident_id);
CREATE INDEX incident_notes_search_idx ON incident_notes USING gin (search);

-- Notes projected before this migration: one row per incident (keyed by the incident id), so they stay
-- searchable; a rebuild replaces them with one row per note.
INSERT INTO incident_notes (event_id, incident_id, body)
    SELECT incident_id, incident_id, notes_text FROM incidents WHERE notes_text <> '';

DROP INDEX incidents_search_idx;
ALTER TABLE incidents DROP COLUMN search;
ALTER TABLE incidents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(state ->> 'description', '')), 'B')
) STORED;
CREATE INDEX incidents_search_idx ON incidents USING gin (search);
