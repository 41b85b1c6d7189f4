-- Submitting straight to the worker in the same process: `submit_jobs` with the worker to hand
-- the jobs to (NULL: none) and its lease. Those jobs are inserted Running, claimed by it as its
-- claim would leave them (attempt 1, leased, started), and the id comes back so that the worker
-- can run them without a claim of its own. Jobs into a paused queue still start as Pause. The
-- lease counts from the insert, not from the transaction's start: a submit may have waited for a
-- pause's lock.
--
-- An overload, not a replacement: a process of the previous version, still running during a
-- rolling upgrade, keeps calling the eight-argument `submit_jobs` of migration 0005.
CREATE FUNCTION submit_jobs(
    p_lock_ns  int4,
    p_worker   uuid,
    p_lease    float8,
    p_job_ids  text[],
    p_queues   text[],
    p_buckets  text[],
    p_regions  text[],
    p_objects  text[],
    p_levels   int2[],
    p_requests jsonb[]
) RETURNS TABLE (submitted_id text, submitted_state int2, submitted_at timestamptz, submitted_row int8)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_lock_ns, hashtext(l.queue_id))
    FROM (SELECT DISTINCT queue_id FROM unnest(p_queues) queue_id ORDER BY queue_id) l;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO jobs (job_id, queue_id, bucket, region, object, job_level, state, request,
                          attempt, locked_by, locked_until, started_at)
        SELECT t.job_id, t.queue_id, t.bucket, t.region, t.object, t.job_level, s.state, t.request,
               CASE WHEN s.state = 1 THEN 1 ELSE 0 END,
               CASE WHEN s.state = 1 THEN p_worker END,
               CASE WHEN s.state = 1 THEN clock_timestamp() + make_interval(secs => p_lease) END,
               CASE WHEN s.state = 1 THEN now() END
        FROM unnest(p_job_ids, p_queues, p_buckets, p_regions, p_objects, p_levels, p_requests)
             WITH ORDINALITY AS t(job_id, queue_id, bucket, region, object, job_level, request, n)
        JOIN queues q USING (queue_id)
        CROSS JOIN LATERAL (SELECT CASE WHEN q.paused THEN 5
                                        WHEN p_worker IS NOT NULL THEN 1
                                        ELSE 0 END::int2 AS state) s
        ORDER BY t.n
        RETURNING jobs.job_id, jobs.state, jobs.created_at, jobs.id)
    SELECT * FROM inserted;
END
$$;
