-- Claim 1,000, then EXPLAIN ANALYZE the update a verdict makes to them: its execution time is the
-- executor's work (the row's new version and its index entries), without parsing or the client.
\o /dev/null
SELECT 'ARRAY[' || string_agg(id::text, ',') || ']::int8[]' AS ids FROM claim_jobs('6f1c1d2e-0000-4000-8000-000000000001'::uuid, 1000, 300) \gset
\o
EXPLAIN (ANALYZE, TIMING off, COSTS off) UPDATE jobs SET state = 2, result = '{"ProcessResult":{"Suspicious":"false"}}', finished_at = now(), locked_by = NULL, locked_until = NULL WHERE id = ANY(:ids);
