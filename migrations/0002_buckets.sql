-- Activation (`POST/DELETE /picbucket`) and the region a bucket's queue was created in.
-- A bucket is activated on first use unless the operator requires explicit activation;
-- `DELETE /picbucket` turns it off (submits are refused; queued jobs still run).
ALTER TABLE queues ADD COLUMN region text NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN activated boolean NOT NULL DEFAULT true;
