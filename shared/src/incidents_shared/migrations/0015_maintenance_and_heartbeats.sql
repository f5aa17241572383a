-- Maintenance windows and heartbeats (docs/decisions/0076). The windows and heartbeats themselves are on the
-- directory's log; these tables hold the command API's operational state beside it.

-- Alerts a maintenance window held: recorded, opening no incident, until no active window holds them any more.
-- One pending row per alert key (a single alert's dedup key, or an Alertmanager group's); the command API's
-- release worker locks pending rows of windows that are over (FOR UPDATE SKIP LOCKED, so two instances never
-- release one twice), opens what still fires and marks the row released.
CREATE TABLE maintenance_held (
    id          bigserial PRIMARY KEY,
    window_id   text NOT NULL,          -- the window holding it now
    windows     text[] NOT NULL,        -- every window that held it, in order
    dedup_key   text NOT NULL,
    kind        text NOT NULL,          -- alert | group
    source      text NOT NULL,
    service     text NOT NULL,
    summary     text NOT NULL,
    status      text NOT NULL,          -- the last status received: firing | resolved
    subjects    jsonb NOT NULL,         -- [[service, labels], ...] of what fires: matched against other windows
    alert       jsonb NOT NULL,         -- what the release decides: the normalized alert, or the webhook
    actor       jsonb NOT NULL,         -- who sent it (the release acts on its behalf)
    held_since  timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    received    integer NOT NULL DEFAULT 1,
    released_at timestamptz,
    outcome     text,                   -- opened, correlated, reopened, ..., or resolved (nothing fired any more)
    incident_id uuid
);
CREATE UNIQUE INDEX maintenance_held_pending ON maintenance_held (dedup_key) WHERE released_at IS NULL;
CREATE INDEX maintenance_held_windows ON maintenance_held USING gin (windows);

-- The last ping of each heartbeat: one upsert per ping (pings are frequent, so they stay off the log).
CREATE TABLE heartbeat_pings (
    name          text PRIMARY KEY,
    first_ping_at timestamptz NOT NULL,
    last_ping_at  timestamptz NOT NULL,
    pings         bigint NOT NULL DEFAULT 1
);

-- Outages: a heartbeat down since `since` (its last ping, or its registration). The primary key claims an
-- outage once, however many API instances watch; a later ping recovers it.
CREATE TABLE heartbeat_outages (
    name         text NOT NULL,
    since        timestamptz NOT NULL,
    down_at      timestamptz NOT NULL,
    opened_at    timestamptz NOT NULL,
    outcome      text,                  -- what the alert path made of it: opened, suppressed, correlated, ...
    incident_id  uuid,
    recovered_at timestamptz,
    recovery     text,                  -- pinged | removed
    PRIMARY KEY (name, since)
);
CREATE INDEX heartbeat_outages_open ON heartbeat_outages (name) WHERE recovered_at IS NULL;
