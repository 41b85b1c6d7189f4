-- Workflows (Tencent's `/workflow`): a Start node (prefix, ExtFilter, NotifyConfig) and one
-- ImageInspect node, run on every matching upload. A run is one job: its RunId is `i` + the
-- job's 32 hex digits, so a run needs no table of its own.
CREATE TABLE workflows (
    workflow_id text        PRIMARY KEY,                -- 'w' + 32 hex, as Tencent
    bucket      text        NOT NULL,
    name        text        NOT NULL,
    active      boolean     NOT NULL DEFAULT false,
    spec        jsonb       NOT NULL,                   -- wire::WorkflowSpec
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workflows_bucket ON workflows (bucket, created_at, workflow_id);

-- A workflow's jobs (`GET /jobs?workflowId=`, `GET /workflowexecution`). Only jobs a workflow
-- made are in it, so a client's job pays one key test for it.
CREATE INDEX jobs_workflow ON jobs ((request->'workflow'->>'WorkflowId'), created_at, id)
    WHERE request ? 'workflow';

-- A job made by a trigger has an id derived from what made it, so the same upload told twice
-- (MinIO retries, an event and a poll, a batch resumed after a crash) inserts one job:
-- `submit_runs` is 0006's `submit_jobs` skipping the ids it has (no row comes back for them). A
-- client's job ids are random and never meet one, so its path keeps `submit_jobs`: ON CONFLICT
-- costs a 1,000-job insert about 15 %, and choosing the clause at run time (EXECUTE) 4 %.
CREATE FUNCTION submit_runs(
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
        ON CONFLICT (job_id) DO NOTHING
        RETURNING jobs.job_id, jobs.state, jobs.created_at, jobs.id)
    SELECT * FROM inserted;
END
$$;

-- A workflow's job may owe two callbacks (TaskFinish, WorkflowFinish) on one delivery: the
-- ones acknowledged so far (bit 1 TaskFinish, bit 2 WorkflowFinish), so a retry sends only
-- the rest.
ALTER TABLE deliveries ADD COLUMN sent smallint NOT NULL DEFAULT 0;
