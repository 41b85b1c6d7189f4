-- Submitting in one round trip, and NOTIFY out of the transactions that make work.
--
-- A transaction that NOTIFYs holds a cluster-wide lock from just before its commit until the
-- commit's WAL flush is done, so every notifying transaction commits one at a time: at 600
-- jobs/s the submits spent about half their time waiting for it, and verdicts (whose outbox
-- trigger notified) waited too. The store now sends each wake-up after the commit, in a
-- transaction of its own that does not wait for the WAL flush, and coalesces the wake-ups
-- asked for while one is on its way (`crates/store/src/wake.rs`).
DROP TRIGGER deliveries_notify ON deliveries;
DROP FUNCTION deliveries_notify();

-- The queues' locks, then the insert, in one call. The locks are taken (shared; pausing takes
-- them exclusively) before the insert reads the queues: a VOLATILE function takes a fresh
-- snapshot for each statement, so a pause that committed while this waited for its lock is
-- seen, and the job starts as Pause (5).
CREATE FUNCTION submit_jobs(
    p_lock_ns  int4,
    p_job_ids  text[],
    p_queues   text[],
    p_buckets  text[],
    p_regions  text[],
    p_objects  text[],
    p_levels   int2[],
    p_requests jsonb[]
) RETURNS TABLE (submitted_id text, submitted_state int2, submitted_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_lock_ns, hashtext(l.queue_id))
    FROM (SELECT DISTINCT queue_id FROM unnest(p_queues) queue_id ORDER BY queue_id) l;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO jobs (job_id, queue_id, bucket, region, object, job_level, state, request)
        SELECT t.job_id, t.queue_id, t.bucket, t.region, t.object, t.job_level,
               CASE WHEN q.paused THEN 5 ELSE 0 END, t.request
        FROM unnest(p_job_ids, p_queues, p_buckets, p_regions, p_objects, p_levels, p_requests)
             WITH ORDINALITY AS t(job_id, queue_id, bucket, region, object, job_level, request, n)
        JOIN queues q USING (queue_id)
        ORDER BY t.n
        RETURNING jobs.job_id, jobs.state, jobs.created_at)
    SELECT * FROM inserted;
END
$$;
