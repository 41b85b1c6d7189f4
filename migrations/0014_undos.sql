-- What an operator undid after AutoProcess acted on a false alarm (the console's Restore, `POST
-- /jobs/<id>/undo`, `stowaway undo`): one row per job, written after the object is back. A table
-- of its own, not a column of `jobs`, so the job path's rows stay as they are; the pruner deletes
-- a job's undo with the job.
CREATE TABLE undos (
    job_id  bigint      PRIMARY KEY,           -- jobs.id
    action  text        NOT NULL,              -- 'Restored' (from the backup) or 'MadePublic'
    by_key  text,                              -- the SecretId that asked, when authenticated
    at      timestamptz NOT NULL DEFAULT now()
);
