-- A job whose object store could not be reached waits it out instead of failing (state 6,
-- Retrying: shown to Tencent's API as Submitted). The worker sets `retry_at` with backoff; the
-- scheduler (a maintenance service) returns due jobs to the queue. `retries` counts these
-- hand-backs, so the rescuer's budget of lost leases (`attempt - retries`) does not spend them;
-- `retrying_since` is when the job first met the outage: its budget is counted in time from then.
-- state: 0 Submitted, 1 Running, 2 Success, 3 Failed, 4 Cancel, 5 Pause, 6 Retrying
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check CHECK (state BETWEEN 0 AND 6);
ALTER TABLE jobs ADD COLUMN retry_at timestamptz;
ALTER TABLE jobs ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retrying_since timestamptz;

-- The scheduler's scan: jobs waiting for a retry, by when they are due.
CREATE INDEX jobs_retrying ON jobs (retry_at) WHERE state = 6;
