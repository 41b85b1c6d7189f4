-- The notifier's claim and outcome updates move every delivery row twice, and each move inserts
-- into every index of the table: PostgreSQL spent most of a claim there.
-- - A job has at most one delivery (it turns terminal once; a resend reuses the row), so the
--   job's id is the key: one index serves the notifier's lookups, the API's and the pruner's,
--   where `id` and `job_id` each had one.
-- - The unique index on webhook_id served no lookup (a resend finds the job first). Uniqueness
--   rests on gen_random_uuid(): 122 random bits.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_key;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_pkey;
DROP INDEX deliveries_job;
ALTER TABLE deliveries DROP COLUMN id;
ALTER TABLE deliveries ADD PRIMARY KEY (job_id);
