-- Failed logins per client address and fixed window (docs/decisions/0089): a wrong bearer token or a refused
-- console sign-in adds one; every command-API instance counts into the same row, so N instances do not allow N
-- times the limit. Only failures touch this table (a successful request never does); rows of past windows are
-- swept by the next failure.
CREATE TABLE auth_failures (
    address      text NOT NULL,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL,
    PRIMARY KEY (address, window_start)
);
CREATE INDEX auth_failures_window ON auth_failures (window_start);
