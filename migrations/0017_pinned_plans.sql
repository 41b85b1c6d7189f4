-- Every connection plans each statement with its real arguments (`Store::session_options`),
-- which on the submit path cost more than the insert: the functions' inner statements and the
-- foreign-key checks they fire were planned again on every call. Here those plans are made once
-- per connection, and pinned to index lookups so that no table size seen at planning time
-- (an empty `job_keys` or `queues` at start-up) can leave a sequential scan in a plan kept for
-- the connection's life.
ALTER FUNCTION submit_jobs(int4, uuid, float8, text[], text[], text[], text[], text[], int2[], jsonb[])
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off;

ALTER FUNCTION submit_runs(int4, uuid, float8, text[], text[], text[], text[], text[], int2[], jsonb[])
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off;

-- A notifier's outcomes, recorded in one round trip (it took four: begin, the settings, the
-- update, commit) with a plan made once per connection. The settings are the ones
-- `deliveries.rs` gives its claims and outcome batches (index plans only, no nested loops:
-- statistics taken after a burst put one row where a notifier holds thousands), and the commit
-- does not wait for the WAL flush (an outcome lost in a crash only means the callback is sent
-- again, with the same webhook-id). States: 0 Pending, 1 Sending, 2 Delivered, 3 Dead,
-- 4 Skipped (`DeliveryState`).
CREATE FUNCTION finish_deliveries(
    p_ids        int8[],
    p_attempts   int4[],
    p_states     int2[],
    p_retry_secs float8[],
    p_kinds      text[],
    p_addresses  text[],
    p_formats    text[],
    p_errors     text[],
    p_logs       jsonb[],
    p_notifier   uuid,
    p_sent       int2[]
) RETURNS SETOF int8
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_nestloop = off
AS $$
BEGIN
    -- Local to the transaction, not to the function (it is not among the function's settings),
    -- so it holds at the caller's commit.
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
    UPDATE deliveries d SET state = o.state, locked_by = NULL, locked_until = NULL,
           next_at = CASE WHEN o.state = 0 THEN now() + make_interval(secs => o.retry_secs)
                          ELSE d.next_at END,
           finished_at = CASE WHEN o.state IN (2, 3, 4) THEN now() END,
           kind = coalesce(o.kind, d.kind), address = coalesce(o.address, d.address),
           format = coalesce(o.format, d.format), last_error = o.error, sent = o.sent,
           attempts = CASE WHEN o.log IS NULL THEN d.attempts
                           ELSE d.attempts || jsonb_build_array(o.log) END
    FROM unnest(p_ids, p_attempts, p_states, p_retry_secs, p_kinds, p_addresses, p_formats,
                p_errors, p_logs, p_sent)
         AS o(id, attempt, state, retry_secs, kind, address, format, error, log, sent)
    WHERE d.job_id = ANY(p_ids) AND d.job_id = o.id AND d.attempt = o.attempt
      -- Still Sending; `::int4` keeps the planner off `deliveries_leased`, whose row count the
      -- same statistics misjudge
      AND d.locked_by = p_notifier AND d.state::int4 = 1
    RETURNING d.job_id;
END
$$;

-- A batch of verdicts (`complete_jobs`) recorded with their jobs' callback deliveries, the
-- outbox, in one statement planned once per connection: it was planned again on every call, on
-- every verdict's path. Which jobs get a delivery is the outbox's rule (`outbox.rs`: terminal,
-- and `callback_due`). With `p_notifier`, a notifier in this process takes the deliveries
-- directly (`handoff.rs`): they are inserted leased to it as its claim would leave them
-- (Sending, attempt 1, for `p_lease` s); without, they wait Pending. One row per job completed,
-- with its delivery when one was queued; for a notifier also the whole job and its queue's
-- NotifyConfig (copying a thousand jobs nobody reads cost the queue a few percent). Committed
-- without waiting for the WAL flush (`Store::complete` says why that is safe). States: jobs
-- 2 Success, 3 Failed, 4 Cancel; deliveries 0 Pending, 1 Sending.
CREATE FUNCTION record_verdicts(
    p_ids      int8[],
    p_attempts int4[],
    p_states   int2[],
    p_results  jsonb[],
    p_errors   text[],
    p_worker   uuid,
    p_notifier uuid,
    p_lease    float8
) RETURNS TABLE (id int8, job jobs, delivery_id int8, webhook_id uuid, delivery_attempt int4,
                 schedule_from int4, kind text, address text, format text, sent int2,
                 notify_config jsonb)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
    WITH done AS (
        SELECT j.id, j.queue_id, j.request, j.state, CASE WHEN p_notifier IS NOT NULL THEN j END AS job
        FROM complete_jobs(p_ids, p_attempts, p_states, p_results, p_errors, p_worker) j),
    queued AS (
        INSERT INTO deliveries (job_id, state, attempt, locked_by, locked_until)
        SELECT d.id, CASE WHEN p_notifier IS NULL THEN 0 ELSE 1 END,
               CASE WHEN p_notifier IS NULL THEN 0 ELSE 1 END, p_notifier,
               now() + make_interval(secs => p_lease)
        FROM done d JOIN queues q ON q.queue_id = d.queue_id
        WHERE d.state IN (2, 3, 4) AND callback_due(d.request, q.notify_config)
        RETURNING job_id, webhook_id, attempt, schedule_from, kind, address, format, sent)
    SELECT d.id, d.job, l.job_id, l.webhook_id, l.attempt, l.schedule_from, l.kind, l.address,
           l.format, l.sent, q.notify_config
    FROM done d LEFT JOIN queued l ON l.job_id = d.id
         LEFT JOIN queues q ON q.queue_id = d.queue_id AND p_notifier IS NOT NULL;
END
$$;

-- A worker's claim: up to `p_k` Submitted jobs (JobLevel 2 first, then oldest) leased to
-- `p_worker` for `p_lease` s, returned in that order, in one round trip with a plan made once
-- per connection (`Store::claim` sent its settings and the claim as text, parsed and planned on
-- every call). Index plans only: the claim walks `jobs_claimable` in its order, whatever a
-- burst did to the statistics. `id = ANY(ARRAY(...))` rather than a join: joining the CTE made
-- the planner hash a sequential scan of the whole table. Committed without waiting for the WAL
-- flush (`Store::claim` says why that is safe). States: 0 Submitted, 1 Running.
CREATE FUNCTION claim_jobs(p_worker uuid, p_k int4, p_lease float8)
RETURNS TABLE (id int8, job_id text, attempt int4, bucket text, region text, object text,
               request jsonb, result jsonb, retries int4, retrying_since timestamptz)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
    WITH c AS MATERIALIZED (
        SELECT j.id FROM jobs j WHERE j.state = 0
        ORDER BY j.job_level DESC, j.created_at, j.id
        LIMIT p_k FOR UPDATE SKIP LOCKED),
    u AS (
        UPDATE jobs j SET state = 1, attempt = j.attempt + 1, locked_by = p_worker,
               locked_until = now() + make_interval(secs => p_lease),
               started_at = coalesce(j.started_at, now())
        WHERE j.id = ANY(ARRAY(SELECT c.id FROM c))
        RETURNING j.id, j.job_id, j.attempt, j.bucket, j.region, j.object, j.request, j.result,
                  j.retries, j.retrying_since, j.job_level, j.created_at)
    SELECT u.id, u.job_id, u.attempt, u.bucket, u.region, u.object, u.request, u.result,
           u.retries, u.retrying_since
    FROM u ORDER BY u.job_level DESC, u.created_at, u.id;
END
$$;
