-- Safe delivery (issue 16, docs/decisions/0079): no webhook URL or other destination is kept in PostgreSQL any
-- more. A delivery names where it goes (a policy channel by name, a person's contact method by user, index and
-- kind) and the escalator resolves it when it sends; and "delivered, outcome to append" is recorded before the
-- outcome is appended to the log, so that a Kafka outage never makes the escalator send it again.

-- Scheme and host of a URL (its path, query and credentials are the secret part); anything else as it is.
CREATE FUNCTION pg_temp.shown_url(url text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN url ~ '^[A-Za-z][A-Za-z0-9+.-]*://'
        THEN regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@]*@)?([^/?#]*).*$', '\1\3')
        ELSE url END
$$;

-- The outbox: a reference instead of the URL; the moment the outcome was known, for its event.
ALTER TABLE escalator_outbox ADD COLUMN destination jsonb;
ALTER TABLE escalator_outbox ADD COLUMN outcome_at timestamptz;
UPDATE escalator_outbox o SET destination = CASE
    WHEN o.channel = 'none' THEN NULL
    WHEN o.channel LIKE 'page:%' THEN (
        SELECT jsonb_build_object('user', o.target, 'index', i.index, 'kind', substr(o.channel, 6))
        FROM (SELECT COALESCE((o.body -> 'contact' ->> 'index')::int,
                              (SELECT (t.payload -> 'contact' ->> 'index')::int FROM escalator_timers t
                               WHERE t.timer_id = o.about_event_id)) AS index) i
        WHERE i.index IS NOT NULL)
    ELSE jsonb_build_object('channel', o.channel) END;
ALTER TABLE escalator_outbox DROP COLUMN url;

-- 'delivered': the receiver accepted it, incident.notification_sent is still to be appended; 'abandoned': failed
-- for good, incident.notification_failed still to be appended. Neither is ever sent again.
ALTER TABLE escalator_outbox DROP CONSTRAINT escalator_outbox_status_check;
ALTER TABLE escalator_outbox ADD CONSTRAINT escalator_outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'abandoned', 'sent', 'failed', 'drill'));
CREATE INDEX escalator_outbox_to_append ON escalator_outbox (partition, outcome_at)
    WHERE status IN ('delivered', 'abandoned');

-- What pages recorded about their address: a URL's scheme and host only (email addresses stay).
UPDATE escalator_storm_holds SET contact_address = pg_temp.shown_url(contact_address)
    WHERE contact_kind <> 'email';
UPDATE escalator_timers SET payload = jsonb_set(payload, '{contact,address}',
        to_jsonb(pg_temp.shown_url(payload -> 'contact' ->> 'address')))
    WHERE payload -> 'contact' ->> 'address' IS NOT NULL AND payload -> 'contact' ->> 'kind' <> 'email';

-- The policy versions the escalator has seen, without their channels (deployment configuration: their URLs are
-- read from the policy file in force when a delivery is sent).
UPDATE escalator_policies SET document = document - 'channels' WHERE document ? 'channels';
DROP FUNCTION pg_temp.shown_url(text);
