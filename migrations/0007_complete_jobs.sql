-- Recording a batch of verdicts, planned without nested loops. Statistics taken while the jobs
-- waited (all Submitted, nobody's lease) put one row where a worker holds a thousand, and the
-- planner rescanned the batch's verdicts once per job (BENCHMARKS.md). Without nested loops it
-- finds the jobs by primary key and joins them to the verdicts by hash, in linear time, whatever
-- the statistics say. A function because the setting must hold while the statement is planned
-- and the verdicts' arrays need bound parameters (one round trip, no transaction around it);
-- PL/pgSQL with a generic plan, because that plan is made once per connection and is right for
-- any batch (a SQL function is parsed and planned again on every call, twice the cost of a
-- one-job batch).
CREATE FUNCTION complete_jobs(
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
    UPDATE jobs j SET state = c.state, result = c.result, last_error = c.error,
           finished_at = now(), locked_by = NULL, locked_until = NULL
    FROM unnest(p_ids, p_attempts, p_states, p_results, p_errors) AS c(id, attempt, state, result, error)
    WHERE j.id = ANY(p_ids) AND j.id = c.id AND j.attempt = c.attempt
      -- Running; `::int4` keeps the planner off `jobs_leased`, whose row count the same
      -- statistics misjudge
      AND j.locked_by = p_worker AND j.state::int4 = 1
    RETURNING j.*;
END
$$;
