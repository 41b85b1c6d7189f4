-- The notifier's claim and outcome updates move every delivery row twice, and each move inserts
-- into every index of the table. The unique index on webhook_id served no lookup (deliveries are
-- found by job, then by webhook_id among that job's few) and cost about a quarter of a claim.
-- Uniqueness rests on gen_random_uuid(): 122 random bits.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_key;
