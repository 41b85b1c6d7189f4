-- The same claim and verdicts against the split tables: the claim reads what the worker needs
-- from split_jobs by primary key; split_jobs itself is never written.
BEGIN;
SET LOCAL synchronous_commit = off;
WITH c AS MATERIALIZED (SELECT id FROM split_states WHERE state = 0 ORDER BY job_level DESC, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED)
, u AS (UPDATE split_states j SET state = 1, attempt = j.attempt + 1, locked_by = '6f1c1d2e-0000-4000-8000-000000000001'::uuid, locked_until = now() + interval '30 s',
  started_at = coalesce(j.started_at, now())
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
RETURNING j.id, j.attempt, j.result, j.retries, j.retrying_since)
SELECT u.id, i.job_id, u.attempt, i.bucket, i.region, i.object, i.request, u.result, u.retries, u.retrying_since
FROM u JOIN split_jobs i ON i.id = u.id;
COMMIT;
BEGIN;
WITH d AS (
UPDATE split_states j SET state = 2, finished_at = now(), locked_by = NULL, locked_until = NULL,
  result = '{"ProcessResult":{"Suspicious":"false","Size":"12345","Offset":"0"},"Code":"Success","Message":""}'::jsonb
WHERE j.id = ANY(ARRAY(SELECT id FROM split_states WHERE state = 1 AND locked_by = '6f1c1d2e-0000-4000-8000-000000000001'::uuid LIMIT 1000)) AND j.state = 1
RETURNING j.id)
INSERT INTO deliveries (job_id, kind, address, format) SELECT id, 'Url', 'http://127.0.0.1:9/cb', 'JSON' FROM d;
COMMIT;
