-- The HOT-lease design, in tables of its own beside the migrated schema (prefix `hot_`):
--   hot_jobs    the job row. No index reads a column a claim or verdict changes (state,
--               attempt, lease, result), so both update it HOT: a new version on the same page
--               and no index entry at all. Its indexes read immutable columns only, so the
--               job id's and the listing's are back on it: `job_keys` has no reason to be.
--   hot_ready   the Submitted jobs in claim order: inserted by a submit, deleted by a claim.
--   hot_claims  one row per claim (its worker, lease, ids, and how many of them still run):
--               the rescuer's scan by expiry; a verdict counts its jobs off their claim
--               (`hot_jobs.claim_id`) and deletes the claim when none is left.
--   hot_suspicious  the suspicious listing, written by a row trigger only when a verdict is
--               suspicious (its WHEN is the only cost a clean verdict pays).
DROP TABLE IF EXISTS hot_suspicious, hot_claims, hot_ready, hot_jobs;
CREATE TABLE hot_jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job_id text NOT NULL, queue_id text NOT NULL,
  bucket text NOT NULL, region text NOT NULL, object text NOT NULL, job_level int2 NOT NULL DEFAULT 0,
  state int2 NOT NULL DEFAULT 0, attempt int NOT NULL DEFAULT 0, locked_by uuid, locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz,
  request jsonb NOT NULL, result jsonb, last_error text, retry_at timestamptz,
  retries int NOT NULL DEFAULT 0, retrying_since timestamptz, cancel_requested bool NOT NULL DEFAULT false, claim_id bigint
) WITH (fillfactor = 50);
CREATE UNIQUE INDEX hot_jobs_job_id ON hot_jobs (job_id);
CREATE INDEX hot_jobs_bucket_created ON hot_jobs (bucket, created_at, id);
CREATE INDEX hot_jobs_workflow ON hot_jobs ((request->'workflow'->>'WorkflowId'), created_at, id) WHERE request ? 'workflow';
CREATE INDEX hot_jobs_batch ON hot_jobs ((request->>'batch_id')) WHERE request ? 'batch_id';
CREATE TABLE hot_ready (id bigint NOT NULL, job_level int2 NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX hot_ready_order ON hot_ready (job_level DESC, created_at, id);
CREATE TABLE hot_claims (
  claim_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, worker uuid NOT NULL,
  until timestamptz NOT NULL, ids int8[] NOT NULL, running int NOT NULL);
CREATE INDEX hot_claims_until ON hot_claims (until);
CREATE TABLE hot_suspicious (bucket text NOT NULL, type text, created_at timestamptz NOT NULL, id bigint NOT NULL);
CREATE INDEX hot_suspicious_listing ON hot_suspicious (bucket, created_at, id);
CREATE FUNCTION hot_suspicious_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hot_suspicious VALUES (NEW.bucket, NEW.result->'ProcessResult'->>'SuspiciousType', NEW.created_at, NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER hot_suspicious_add AFTER UPDATE OF result ON hot_jobs FOR EACH ROW
  WHEN (NEW.result->'ProcessResult'->>'Suspicious' = 'true') EXECUTE FUNCTION hot_suspicious_add();
