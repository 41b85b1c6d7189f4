-- Polling (`STOWAWAY_WORKFLOW_POLL_SECS`) for stores that send no bucket events: how far each
-- Active workflow's prefix has been seen, in the store's clock (Last-Modified, ms), and where
-- its first poll found it (what was stored by then is never a new upload). A workflow deleted
-- takes its cursor with it.
CREATE TABLE workflow_polls (
    workflow_id text        PRIMARY KEY REFERENCES workflows (workflow_id) ON DELETE CASCADE,
    since       timestamptz NOT NULL,
    seen_until  timestamptz NOT NULL,
    polled_at   timestamptz NOT NULL DEFAULT now()
);
