-- The split: what a job is (never updated after its submit) in split_jobs with the job id's
-- unique index and the listing indexes; what happens to it (claimed, leased, finished, its verdict)
-- in split_states, whose indexes are the state machine's partial ones only. Claims and verdicts
-- update split_states alone, so each transition inserts into two indexes instead of four or more.
DROP TABLE IF EXISTS split_states, split_jobs;
CREATE TABLE split_jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id text NOT NULL UNIQUE, queue_id text NOT NULL REFERENCES queues(queue_id),
  bucket text NOT NULL, region text NOT NULL, object text NOT NULL,
  job_level smallint NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(), request jsonb NOT NULL);
CREATE INDEX split_jobs_bucket_created ON split_jobs (bucket, created_at, id);
CREATE INDEX split_jobs_workflow ON split_jobs (((request -> 'workflow') ->> 'WorkflowId'), created_at, id) WHERE request ? 'workflow';
CREATE TABLE split_states (
  id bigint PRIMARY KEY REFERENCES split_jobs(id),
  job_level smallint NOT NULL, created_at timestamptz NOT NULL, bucket text NOT NULL,
  state smallint NOT NULL DEFAULT 0, attempt int NOT NULL DEFAULT 0, locked_by uuid, locked_until timestamptz,
  started_at timestamptz, finished_at timestamptz, result jsonb, last_error text, retry_at timestamptz,
  retries int NOT NULL DEFAULT 0, retrying_since timestamptz, cancel_requested bool NOT NULL DEFAULT false
) WITH (fillfactor = 80);
CREATE INDEX split_states_claimable ON split_states (job_level DESC, created_at, id) WHERE state = 0;
CREATE INDEX split_states_leased ON split_states (locked_until) WHERE state = 1;
CREATE INDEX split_states_finished ON split_states (finished_at) WHERE state IN (2,3,4);
CREATE INDEX split_states_retrying ON split_states (retry_at) WHERE state = 6;
CREATE INDEX split_states_suspicious ON split_states (bucket, created_at, id) WHERE ((result -> 'ProcessResult') ->> 'Suspicious') = 'true';
