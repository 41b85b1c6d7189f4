-- One pgbench transaction pair: claim 1,000 as `Store::claim` does, then record their verdicts
-- with their outbox rows as `complete_jobs` does (a pgbench script cannot carry the claimed ids
-- over, so the verdicts find the worker's leased jobs again through `jobs_leased`).
BEGIN;
SET LOCAL synchronous_commit = off;
WITH c AS MATERIALIZED (SELECT id FROM jobs WHERE state = 0 ORDER BY job_level DESC, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED)
UPDATE jobs j SET state = 1, attempt = j.attempt + 1, locked_by = '6f1c1d2e-0000-4000-8000-000000000001'::uuid, locked_until = now() + interval '30 s',
  started_at = coalesce(j.started_at, now())
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
RETURNING j.id, j.job_id, j.attempt, j.bucket, j.region, j.object, j.request, j.result, j.retries, j.retrying_since;
COMMIT;
BEGIN;
WITH d AS (
UPDATE jobs j SET state = 2, finished_at = now(), locked_by = NULL, locked_until = NULL,
  result = '{"ProcessResult":{"Suspicious":"false","Size":"12345","Offset":"0"},"Code":"Success","Message":""}'::jsonb
WHERE j.id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 1 AND locked_by = '6f1c1d2e-0000-4000-8000-000000000001'::uuid LIMIT 1000)) AND j.state = 1
RETURNING j.id)
INSERT INTO deliveries (job_id, kind, address, format) SELECT id, 'Url', 'http://127.0.0.1:9/cb', 'JSON' FROM d;
COMMIT;
