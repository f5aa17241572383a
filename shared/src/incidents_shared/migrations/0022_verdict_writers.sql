-- Who wrote each judged event (docs/decisions/0090): GET /v1/events/{id} shows an integration only the verdicts
-- of events it wrote. Verdicts judged before this migration have no writer: NULL, readable by people only.
ALTER TABLE event_verdicts ADD COLUMN actor_id text;
