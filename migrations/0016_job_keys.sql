-- A job's JobId and its place in its bucket's listing never change, so their indexes move out of
-- `jobs` into `job_keys`, written once when the job is inserted. Every claim and verdict updates
-- its job's row, and a row's update that is not HOT (every state change: the state indexes'
-- predicates read it) inserts into each of the table's indexes: those two were the largest part
-- of a claim and a verdict (BENCHMARKS.md, "the job id's index off the update path").
CREATE TABLE job_keys (
    job_id     text PRIMARY KEY,
    id         bigint NOT NULL,
    bucket     text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO job_keys (job_id, id, bucket, created_at) SELECT job_id, id, bucket, created_at FROM jobs;
CREATE INDEX job_keys_bucket_created ON job_keys (bucket, created_at, id);

-- Kept by the table itself, so that every way a job is inserted (the submit functions of this and
-- earlier releases, workflows, tests) or removed (the pruner, TRUNCATE) keeps it whole; one
-- statement per batch of jobs, not one per row.
CREATE FUNCTION job_keys_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_keys (job_id, id, bucket, created_at) SELECT job_id, id, bucket, created_at FROM added;
    RETURN NULL;
END
$$;
CREATE TRIGGER job_keys_add AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION job_keys_add();

CREATE FUNCTION job_keys_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_keys k USING removed r WHERE k.job_id = r.job_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER job_keys_remove AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION job_keys_remove();

CREATE FUNCTION job_keys_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE job_keys;
    RETURN NULL;
END
$$;
CREATE TRIGGER job_keys_clear AFTER TRUNCATE ON jobs FOR EACH STATEMENT EXECUTE FUNCTION job_keys_clear();

-- What the keys copy must not drift: an update naming them is refused (no statement does).
CREATE FUNCTION job_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a job''s job_id, bucket and created_at do not change';
END
$$;
CREATE TRIGGER job_keys_fixed BEFORE UPDATE OF job_id, bucket, created_at ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_keys_fixed();

ALTER TABLE jobs DROP CONSTRAINT jobs_job_id_key;
DROP INDEX jobs_bucket_created;

-- `submit_runs` (0008) skipped the ids it had with ON CONFLICT on `jobs`' unique index, gone now:
-- it skips those `job_keys` holds. A submit of the same id that commits after it looked fails
-- this one on the key's insert, and the caller calls again (`insert_jobs`), which then skips it;
-- no exception block here, whose subtransaction every call would pay. Its ids are made distinct
-- (`DISTINCT ON`), as ON CONFLICT made them.
CREATE OR REPLACE FUNCTION submit_runs(
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
        FROM (SELECT DISTINCT ON (u.job_id) u.*
              FROM unnest(p_job_ids, p_queues, p_buckets, p_regions, p_objects, p_levels, p_requests)
                   WITH ORDINALITY AS u(job_id, queue_id, bucket, region, object, job_level, request, n)
              ORDER BY u.job_id, u.n) t
        JOIN queues q USING (queue_id)
        CROSS JOIN LATERAL (SELECT CASE WHEN q.paused THEN 5
                                        WHEN p_worker IS NOT NULL THEN 1
                                        ELSE 0 END::int2 AS state) s
        WHERE NOT EXISTS (SELECT 1 FROM job_keys k WHERE k.job_id = t.job_id)
        ORDER BY t.n
        RETURNING jobs.job_id, jobs.state, jobs.created_at, jobs.id)
    SELECT * FROM inserted;
END
$$;
