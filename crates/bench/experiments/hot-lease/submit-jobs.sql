-- 1,000 jobs submitted into `jobs` as `submit_jobs` inserts them (its `job_keys` trigger and
-- `jobs_claimable` entries included).
INSERT INTO jobs (job_id, queue_id, bucket, region, object, job_level, request)
SELECT 's' || md5(random()::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'input/' || g || '.png', (g % 3)::int2,
       jsonb_build_object('UserData','bench','JobLevel',g % 3)
FROM generate_series(1, 1000) g;
