-- The pruner finds old finished jobs through `job_keys`' bucket-and-time index, and `jobs`
-- loses `jobs_finished`, its only reader: every verdict inserted into it (a verdict's update is
-- never HOT), for a statement run once a minute (BENCHMARKS.md, "the pruner off the verdict's
-- path"). A job finishes after it was created, so every job finished before the cutoff has a key
-- created before it. An older binary's pruner, until it is replaced, scans `jobs` instead.
DROP INDEX jobs_finished;

-- A job without its key would never be pruned now: any that a submit of a release before 0016
-- committed while 0016 ran, or that a restore without triggers left, get theirs.
INSERT INTO job_keys (job_id, id, bucket, created_at)
SELECT j.job_id, j.id, j.bucket, j.created_at FROM jobs j
WHERE NOT EXISTS (SELECT 1 FROM job_keys k WHERE k.job_id = j.job_id);

-- Up to `p_limit` jobs finished more than `p_retention` s ago deleted, with their callback
-- deliveries and undo records. The keys are walked in index order (bucket, created_at, id) from
-- just after the mark given (none: the start), and the last key taken is returned as the next
-- call's mark, so a pass of the pruner reads each old key once, however many of them cannot go
-- yet (a queue paused for the whole retention). Index plans only, made once per connection, as
-- 0017's functions: a plan chosen on a small table must not scan a grown one every minute.
-- States: 2 Success, 3 Failed, 4 Cancel.
CREATE FUNCTION prune_jobs(
    p_retention     float8,
    p_limit         int4,
    p_after_bucket  text,
    p_after_created timestamptz,
    p_after_id      int8
) RETURNS TABLE (deleted int8, mark_bucket text, mark_created timestamptz, mark_id int8)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    cutoff        timestamptz := now() - make_interval(secs => p_retention);
    after_bucket  text        := coalesce(p_after_bucket, '');
    after_created timestamptz := coalesce(p_after_created, '-infinity');
    after_id      int8        := coalesce(p_after_id, 0);
BEGIN
    RETURN QUERY
    WITH RECURSIVE buckets (bucket) AS (
        SELECT min(k.bucket) FROM job_keys k WHERE k.bucket >= after_bucket
        UNION ALL
        SELECT (SELECT min(k.bucket) FROM job_keys k WHERE k.bucket > b.bucket)
        FROM buckets b WHERE b.bucket IS NOT NULL),
    -- Each `OFFSET 0` keeps its subquery where it is written, so the order is fixed: buckets,
    -- their old keys, their jobs (the planner, left to itself, walked all of `jobs`).
    old AS (
        SELECT k.bucket, k.created_at, k.id
        FROM buckets b
        CROSS JOIN LATERAL (
            SELECT k.bucket, k.created_at, k.id FROM job_keys k
            WHERE k.bucket = b.bucket AND k.created_at < cutoff
              AND (k.bucket, k.created_at, k.id) > (after_bucket, after_created, after_id)
            OFFSET 0) k
        CROSS JOIN LATERAL (
            SELECT 1 FROM jobs j
            WHERE j.id = k.id AND j.state IN (2, 3, 4) AND j.finished_at < cutoff
            OFFSET 0) finished
        LIMIT p_limit),
    -- Checked again on the row deleted, should a job ever leave its final state meanwhile.
    gone AS (
        DELETE FROM jobs j
        WHERE j.id IN (SELECT o.id FROM old o) AND j.state IN (2, 3, 4) AND j.finished_at < cutoff
        RETURNING j.id),
    their_deliveries AS (DELETE FROM deliveries WHERE job_id IN (SELECT g.id FROM gone g)),
    their_undos AS (DELETE FROM undos WHERE job_id IN (SELECT g.id FROM gone g))
    SELECT (SELECT count(*) FROM gone), l.bucket, l.created_at, l.id
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT o.bucket, o.created_at, o.id FROM old o
                       ORDER BY o.bucket DESC, o.created_at DESC, o.id DESC LIMIT 1) l ON true;
END
$$;
