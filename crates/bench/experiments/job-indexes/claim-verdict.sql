-- One pgbench transaction pair through the real functions: claim 1,000 (`claim_jobs`), then their
-- verdicts (`record_verdicts`, no notifier). The claimed ids travel as an ARRAY literal (\gset).
SELECT 'ARRAY[' || string_agg(id::text, ',') || ']::int8[]' AS ids, 'ARRAY[' || string_agg(attempt::text, ',') || ']::int4[]' AS att, count(*) AS n FROM claim_jobs('6f1c1d2e-0000-4000-8000-000000000001'::uuid, 1000, 300) \gset
SELECT count(*) FROM record_verdicts(:ids, :att, array_fill(2::int2, ARRAY[:n]), array_fill('{"ProcessResult":{"Suspicious":"false"}}'::jsonb, ARRAY[:n]), array_fill(NULL::text, ARRAY[:n]), '6f1c1d2e-0000-4000-8000-000000000001'::uuid, NULL, NULL);
