-- Callback deliveries: a transactional outbox. The statement that makes a job terminal (Success,
-- Failed, Cancel) also inserts its delivery when a callback may be due, so a finished job and its
-- callback commit together or not at all. The notifier resolves the exact target (the job's
-- CallBack* settings over the queue's NotifyConfig) on its first claim and records it here.
--
-- state: 0 Pending, 1 Sending (leased to a notifier), 2 Delivered, 3 Dead (retries exhausted or
--        410 Gone), 4 Skipped (nothing configured once resolved)
CREATE TABLE deliveries (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(), -- stable across attempts
    job_id        bigint      NOT NULL,                 -- jobs.id; the pruner deletes both together
    state         smallint    NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 4),
    attempt       integer     NOT NULL DEFAULT 0,
    -- attempts made before the last resend: the retry schedule restarts from there
    schedule_from integer     NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL DEFAULT now(),
    locked_by     uuid,
    locked_until  timestamptz,
    kind          text,                                 -- 'Url' or 'TDMQ', once resolved
    address       text,                                 -- the URL or the topic
    format        text,                                 -- 'XML' or 'JSON'
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    last_error    text,
    -- one object per attempt (number, at, status, latency_ms, error), for GET /jobs/<id>/callbacks
    attempts      jsonb       NOT NULL DEFAULT '[]'
);
-- No foreign keys: their per-row checks cost more than the rest of an outcome's write.

CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 0;
CREATE INDEX deliveries_leased ON deliveries (locked_until) WHERE state = 1;
CREATE INDEX deliveries_job ON deliveries (job_id);

ALTER TABLE deliveries SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 1000,
    fillfactor = 80
);

-- Whether a job finishing with `request` (jobs.request) in a queue with `notify`
-- (queues.notify_config) may need a callback. A superset of what the notifier finally selects:
-- a row it resolves to nothing becomes Skipped, but a job this refuses never gets a callback.
CREATE FUNCTION callback_due(request jsonb, notify jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(request->>'callback_type' = 'TDMQ', false)
        OR coalesce(request->>'callback' <> 'no', notify->>'State' = 'On', false)
$$;

-- Wake the notifiers once per statement that queued deliveries (never per row).
CREATE FUNCTION deliveries_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queued) THEN
        PERFORM pg_notify('stowaway_callbacks', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_notify();
