-- The read side in depth (issue 4): full-text search, list indexes, report indexes and the live stream's
-- commit-ordered positions. See docs/decisions/0020..0024.

-- Full-text search over title, description and the texts of accepted notes. The projector keeps notes_text
-- (states do not carry note texts); the tsvector is a stored generated column so it can never drift.
ALTER TABLE incidents ADD COLUMN notes_text text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(state ->> 'description', '')), 'B')
    || setweight(to_tsvector('english', notes_text), 'C')
) STORED;
CREATE INDEX incidents_search_idx ON incidents USING gin (search);

-- Keyset pagination: one composite index per sort, ending with incident_id as the tie-breaker.
CREATE INDEX incidents_logged_idx ON incidents (logged_at, incident_id);
CREATE INDEX incidents_updated_idx ON incidents (updated_at, incident_id);
CREATE INDEX incidents_priority_sort_idx ON incidents ((coalesce(priority, 'P9')), logged_at, incident_id);
CREATE INDEX incidents_team_idx ON incidents (team, logged_at, incident_id) WHERE team IS NOT NULL;
CREATE INDEX incidents_assignee_idx ON incidents (assignee, logged_at, incident_id) WHERE assignee IS NOT NULL;
CREATE INDEX incidents_category_idx ON incidents (category, logged_at, incident_id) WHERE category IS NOT NULL;
CREATE INDEX incidents_breached_idx ON incidents (logged_at, incident_id) WHERE breached;
CREATE INDEX incidents_open_idx ON incidents ((coalesce(priority, 'P9')), logged_at, incident_id)
    WHERE status NOT IN ('resolved', 'closed');
-- Recurring issues by dedup key over all incidents (the 0001 index only covers open ones).
CREATE INDEX incidents_dedup_idx ON incidents (dedup_key, logged_at) WHERE dedup_key IS NOT NULL;

-- The live stream: a global position per accepted event, assigned from a single-row counter that the
-- projector locks inside its batch transaction, so position order is commit order (0021).
CREATE TABLE stream_counter (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint  NOT NULL
);
INSERT INTO stream_counter (id, position) VALUES (true, 0);
ALTER TABLE incident_events ADD COLUMN position bigint;
CREATE UNIQUE INDEX incident_events_position_idx ON incident_events (position);
-- Point in time and audit read one incident's events in order (the UNIQUE (incident_id, version) index).
-- Events projected before this migration get positions in log order per partition.
UPDATE incident_events AS e SET position = n.position
FROM (SELECT event_id, row_number() OVER (ORDER BY partition, "offset") AS position FROM incident_events) AS n
WHERE e.event_id = n.event_id;
UPDATE stream_counter SET position = (SELECT coalesce(max(position), 0) FROM incident_events);
ALTER TABLE incident_events ALTER COLUMN position SET NOT NULL;
