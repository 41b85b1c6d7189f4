-- Cancelling a job that started but has not acted yet (no checkpointed verdict): the cancel
-- marks it, its checkpoint then refuses to record a decision to act, and its completion (or
-- any later one, after a hand-back) ends it Cancel, its verdict dropped. A submit answered
-- Submitted can then always be cancelled until AutoProcess is under way.
ALTER TABLE jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION complete_jobs(
    p_ids      int8[],
    p_attempts int4[],
    p_states   int2[],
    p_results  jsonb[],
    p_errors   text[],
    p_worker   uuid
) RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE
SET enable_nestloop = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    UPDATE jobs j SET state = CASE WHEN j.cancel_requested THEN 4 ELSE c.state END,
           result = CASE WHEN j.cancel_requested THEN NULL ELSE c.result END,
           last_error = CASE WHEN j.cancel_requested THEN 'cancelled while it ran, before it acted'
                             ELSE c.error END,
           finished_at = now(), locked_by = NULL, locked_until = NULL
    FROM unnest(p_ids, p_attempts, p_states, p_results, p_errors) AS c(id, attempt, state, result, error)
    WHERE j.id = ANY(p_ids) AND j.id = c.id AND j.attempt = c.attempt
      -- Running; `::int4` keeps the planner off `jobs_leased`, whose row count the same
      -- statistics misjudge
      AND j.locked_by = p_worker AND j.state::int4 = 1
    RETURNING j.*;
END
$$;
