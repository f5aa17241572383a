-- Alerts find the incidents of their dedup key, open or not (episodes, reopen window, duplicate_of routing).
-- The partial index of 0001 covers open incidents only.
CREATE INDEX IF NOT EXISTS incidents_dedup_key_idx ON incidents (dedup_key) WHERE dedup_key IS NOT NULL;
