-- A timer whose event cannot be built (a bug, or state the escalator cannot read) is parked with the error
-- instead of crashing the timer loop on every tick (docs/decisions/0095); an operator sees it in /metrics and
-- in the escalator's log, and can set it back to 'pending' once the cause is fixed.
ALTER TABLE escalator_timers DROP CONSTRAINT escalator_timers_status_check;
ALTER TABLE escalator_timers ADD CONSTRAINT escalator_timers_status_check
    CHECK (status IN ('pending', 'fired', 'cancelled', 'parked'));
ALTER TABLE escalator_timers ADD COLUMN parked_error text;
