-- One claim of 1,000 and its verdicts through the real functions (claim_jobs, record_verdicts
-- without a notifier), as `stowaway-bench queue` makes them.
\set c :client_id
SELECT 'ARRAY[' || string_agg(id::text, ',') || ']::int8[]' AS ids,
       'ARRAY[' || string_agg(attempt::text, ',') || ']::int4[]' AS att, count(*) AS n
FROM claim_jobs(('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid, 1000, 300) \gset
SELECT count(*) FROM record_verdicts(:ids, :att, array_fill(2::int2, ARRAY[:n]),
  array_fill('{"ProcessResult":{"Suspicious":"false"}}'::jsonb, ARRAY[:n]), array_fill(NULL::text, ARRAY[:n]),
  ('6f1c1d2e-0000-4000-8000-00000000000' || :c)::uuid, NULL, NULL);
