-- One claim of 1,000 and its verdicts in the HOT-lease tables, shaped as claim_jobs and
-- complete_jobs (same columns returned, same fences: worker, attempt, Running).
\set c :client_id
BEGIN;
SET LOCAL synchronous_commit = off;
WITH c AS (DELETE FROM hot_ready WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM hot_ready ORDER BY job_level DESC, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED))
           RETURNING id),
l AS (INSERT INTO hot_claims (worker, until, ids, running)
      SELECT ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid, now() + interval '30 s', array_agg(id), count(*) FROM c
      RETURNING claim_id, ids),
u AS (UPDATE hot_jobs j SET state = 1, attempt = j.attempt + 1, locked_by = ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid,
             locked_until = now() + interval '30 s', started_at = coalesce(j.started_at, now()),
             claim_id = (SELECT claim_id FROM l)
      WHERE j.id = ANY(ARRAY(SELECT unnest(ids) FROM l))
      RETURNING j.id, j.job_id, j.attempt, j.bucket, j.region, j.object, j.request, j.result, j.retries,
                j.retrying_since, j.job_level, j.created_at)
SELECT 'ARRAY[' || string_agg(id::text, ',') || ']::int8[]' AS ids,
       'ARRAY[' || string_agg(attempt::text, ',') || ']::int4[]' AS att, count(*) AS n
FROM (SELECT * FROM u ORDER BY job_level DESC, created_at, id) x \gset
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_nestloop = off;
WITH v AS (
UPDATE hot_jobs j SET state = c.state, result = c.result, finished_at = now(), locked_by = NULL, locked_until = NULL
FROM unnest(:ids, :att, array_fill(2::int2, ARRAY[:n]),
            array_fill('{"ProcessResult":{"Suspicious":"false"}}'::jsonb, ARRAY[:n])) AS c(id, attempt, state, result)
WHERE j.id = ANY(:ids) AND j.id = c.id AND j.attempt = c.attempt
  AND j.locked_by = ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid AND j.state = 1
RETURNING j.claim_id),
counted AS (
UPDATE hot_claims k SET running = k.running - v.n
FROM (SELECT claim_id, count(*) AS n FROM v GROUP BY claim_id) v WHERE k.claim_id = v.claim_id
RETURNING k.claim_id, k.running)
DELETE FROM hot_claims k USING counted WHERE k.claim_id = counted.claim_id AND counted.running = 0;
COMMIT;
