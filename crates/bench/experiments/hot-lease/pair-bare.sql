-- pair-hot.sql's statements against `jobs` (every migration), without the functions' extras
-- (the outbox's CTE, the queue's join): the same SQL on both designs.
\set c :client_id
BEGIN;
SET LOCAL synchronous_commit = off;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
WITH c AS MATERIALIZED (SELECT id FROM jobs WHERE state = 0 ORDER BY job_level DESC, created_at, id
                        LIMIT 1000 FOR UPDATE SKIP LOCKED),
u AS (UPDATE jobs j SET state = 1, attempt = j.attempt + 1, locked_by = ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid,
             locked_until = now() + interval '30 s', started_at = coalesce(j.started_at, now())
      WHERE j.id = ANY(ARRAY(SELECT id FROM c))
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
UPDATE jobs j SET state = c.state, result = c.result, finished_at = now(), locked_by = NULL, locked_until = NULL
FROM unnest(:ids, :att, array_fill(2::int2, ARRAY[:n]),
            array_fill('{"ProcessResult":{"Suspicious":"false"}}'::jsonb, ARRAY[:n])) AS c(id, attempt, state, result)
WHERE j.id = ANY(:ids) AND j.id = c.id AND j.attempt = c.attempt
  AND j.locked_by = ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid AND j.state = 1;
COMMIT;
