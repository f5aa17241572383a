-- Incidents found by label (GET /v1/incidents?label=name:value, docs/decisions/0074): one row per label an
-- incident or one of its recorded alerts carries, written by the projector in the batch that brings it.
-- Keyed by a hash of the pair: a label value may be 1,000 characters, more than a btree entry may hold.
CREATE TABLE incident_labels (
    incident_id uuid NOT NULL,
    name        text NOT NULL,
    value       text NOT NULL,
    pair        uuid GENERATED ALWAYS AS (md5(length(name)::text || ':' || name || value)::uuid) STORED,
    PRIMARY KEY (pair, incident_id)
);

-- What was projected before: the incidents' own labels, and those of the alerts correlated with them.
INSERT INTO incident_labels (incident_id, name, value)
    SELECT i.incident_id, l.key, l.value FROM incidents i, jsonb_each_text(i.state -> 'labels') AS l
    ON CONFLICT DO NOTHING;
INSERT INTO incident_labels (incident_id, name, value)
    SELECT e.incident_id, l.key, l.value
    FROM incident_events e, jsonb_each_text(e.event -> 'data' -> 'labels') AS l
    WHERE e.type = 'incident.alert_correlated'
    ON CONFLICT DO NOTHING;
