-- Stowaway's job store. States are explicit (River style); the claim path touches only the
-- partial index over claimable rows, so finished history never slows claiming.

CREATE TABLE queues (
    queue_id      text        PRIMARY KEY,              -- 'p' + 32 hex, as Tencent
    bucket        text        NOT NULL UNIQUE,          -- one pic queue per bucket
    name          text        NOT NULL,
    paused        boolean     NOT NULL DEFAULT false,
    notify_config jsonb,                                -- NotifyConfig, read by the notifier
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- state: 0 Submitted, 1 Running, 2 Success, 3 Failed, 4 Cancel, 5 Pause
CREATE TABLE jobs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       text        NOT NULL UNIQUE,           -- 'c' + 32 hex, as Tencent
    queue_id     text        NOT NULL REFERENCES queues (queue_id),
    bucket       text        NOT NULL,
    region       text        NOT NULL,
    object       text        NOT NULL,
    job_level    smallint    NOT NULL DEFAULT 0 CHECK (job_level BETWEEN 0 AND 2),
    state        smallint    NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5),
    attempt      integer     NOT NULL DEFAULT 0,
    locked_by    uuid,
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    request      jsonb       NOT NULL,                  -- Operation and callback settings
    result       jsonb,                                 -- ImageInspectResult once terminal
    last_error   text
);

-- Claim order: JobLevel 2 first, then age. Only Submitted rows are in it.
CREATE INDEX jobs_claimable ON jobs (job_level DESC, created_at, id) WHERE state = 0;
-- The rescuer's scan: running rows by lease expiry.
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 1;
-- Listing per bucket by time, and the pruner's scan of finished rows.
CREATE INDEX jobs_bucket_created ON jobs (bucket, created_at, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN (2, 3, 4);

-- A busy queue churns dead tuples on every claim and completion: vacuum this table early.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_limit = 2000,
    fillfactor = 80
);
