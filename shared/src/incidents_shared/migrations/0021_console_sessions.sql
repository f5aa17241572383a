-- The responder console's sign-in sessions (docs/decisions/0084). The cookie holds a random secret; this table
-- holds only its SHA-256, so a copy of the database signs nobody in. `token_hash` is the hash of the personal
-- token the person signed in with: each request resolves it on the directory again, so revoking the token ends
-- every session made with it. Sign-out deletes the row; an expired row is refused and swept at the next sign-in.
CREATE TABLE console_sessions (
    session_hash text PRIMARY KEY,
    user_id      text NOT NULL,
    token_hash   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
