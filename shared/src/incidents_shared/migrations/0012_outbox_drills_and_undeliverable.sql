-- A drill's deliveries are kept with what they would have said and never sent (status 'drill'); a delivery that
-- no channel can carry (an unknown team, a team without channels) says why, and is recorded failed without an
-- attempt on the network (docs/decisions/0066).
ALTER TABLE escalator_outbox DROP CONSTRAINT escalator_outbox_status_check;
ALTER TABLE escalator_outbox ADD CONSTRAINT escalator_outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'drill'));
ALTER TABLE escalator_outbox ADD COLUMN drill boolean NOT NULL DEFAULT false;
ALTER TABLE escalator_outbox ADD COLUMN undeliverable text;
