-- The pruner finds old finished jobs through `job_keys`' bucket-and-time index, and `jobs`
-- loses `jobs_finished`, its only reader: every verdict inserted into it (a verdict's update is
-- never HOT), for a statement run once a minute (BENCHMARKS.md, "the pruner off the verdict's
-- path"). A job finishes after it was created, so every job finished before the cutoff has a key
-- created before it; the unfinished ones among those (a queue paused for the whole retention)
-- are read again on each pass.
DROP INDEX jobs_finished;

-- Up to `p_limit` jobs finished more than `p_retention` s ago deleted, with their callback
-- deliveries and undo records; returns how many. Index plans only, made once per connection, as
-- 0017's functions: a plan chosen on a small table must not scan a grown one every minute. Each
-- bucket's old keys are read from `job_keys_bucket_created` (the buckets found by skipping
-- through the same index). States: 2 Success, 3 Failed, 4 Cancel.
CREATE FUNCTION prune_jobs(p_retention float8, p_limit int4) RETURNS int8
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    cutoff timestamptz := now() - make_interval(secs => p_retention);
    n int8;
BEGIN
    WITH RECURSIVE buckets (bucket) AS (
        SELECT min(k.bucket) FROM job_keys k
        UNION ALL
        SELECT (SELECT min(k.bucket) FROM job_keys k WHERE k.bucket > b.bucket)
        FROM buckets b WHERE b.bucket IS NOT NULL),
    -- Each `OFFSET 0` keeps its subquery where it is written, so the order is fixed: buckets,
    -- their old keys, their jobs (the planner, left to itself, walked all of `jobs`).
    old AS (
        SELECT j.id
        FROM buckets b
        CROSS JOIN LATERAL (SELECT k.id FROM job_keys k
                            WHERE k.bucket = b.bucket AND k.created_at < cutoff OFFSET 0) k
        CROSS JOIN LATERAL (SELECT j.id FROM jobs j
                            WHERE j.id = k.id AND j.state IN (2, 3, 4) AND j.finished_at < cutoff
                            OFFSET 0) j
        LIMIT p_limit),
    gone AS (DELETE FROM jobs WHERE id IN (SELECT o.id FROM old o) RETURNING id),
    their_deliveries AS (DELETE FROM deliveries WHERE job_id IN (SELECT g.id FROM gone g)),
    their_undos AS (DELETE FROM undos WHERE job_id IN (SELECT g.id FROM gone g))
    SELECT count(*) INTO n FROM gone;
    RETURN n;
END
$$;
