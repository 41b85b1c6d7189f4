-- Batch jobs (`/inventorytriggerjob`): ImageInspect (Type Job: one job per object) or workflows
-- (Type Workflow: one run per object and workflow) over what a bucket holds under a prefix.
-- The lister (the lease engine's third consumer) walks the listing a page at a time under a
-- lease: it inserts a page's children, then records the next page's token, so a crash lists that
-- page again, and the children's ids (derived from the batch and the key) make a page read twice
-- insert nothing new. An expired lease is claimable again: no rescuer needed.
-- state: 0 Submitted, 1 Listing, 2 Listed, 3 Failed, 4 Cancel (store/src/model.rs); a Listed
-- batch is shown Running until every child finished, then Success.
CREATE TABLE batches (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id     text        NOT NULL UNIQUE,           -- 'b' + 32 hex, as Tencent
    bucket       text        NOT NULL,
    region       text        NOT NULL,
    kind         text        NOT NULL,                  -- 'Job' or 'Workflow'
    name         text        NOT NULL,
    state        smallint    NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 4),
    spec         jsonb       NOT NULL,                  -- wire::BatchSpec
    next_page    text,                                  -- the listing's continuation token
    attempt      integer     NOT NULL DEFAULT 0,
    locked_by    uuid,
    locked_until timestamptz,
    next_at      timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    last_error   text
);

-- What the lister claims: batches still listing, by when they are due.
CREATE INDEX batches_listing ON batches (next_at) WHERE state IN (0, 1);
CREATE INDEX batches_bucket ON batches (bucket, created_at, id);

-- A batch's children (`GET /jobs?inventoryTriggerJobId=`, progress, cancel).
CREATE INDEX jobs_batch ON jobs ((request->>'batch_id'), state) WHERE request ? 'batch_id';
