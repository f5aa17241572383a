-- Notes are append-only rows (docs/decisions/0091): each accepted note is inserted once into incident_notes
-- (0011) and never rewritten. incidents.notes_text, the concatenation of every note rewritten by each batch's
-- upsert, grew without bound (about 13,000 notes of the largest size pass PostgreSQL's 1 GB field limit, and
-- that error stalled the projector); nothing reads it any more: the checker and the rebuild checksum read the
-- rows. Dropping a column is a catalogue change: no table rewrite.
ALTER TABLE incidents DROP COLUMN notes_text;
