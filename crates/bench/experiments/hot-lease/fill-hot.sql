-- :n Submitted jobs shaped as `stowaway-bench queue`'s, in the HOT-lease tables.
TRUNCATE hot_jobs, hot_ready, hot_claims, hot_suspicious;
INSERT INTO hot_jobs (job_id, queue_id, bucket, region, object, job_level, request)
SELECT 'si' || md5(g::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'input/' || g || '.png', (g % 3)::int2,
       jsonb_build_object('UserData','bench','JobLevel',g % 3)
FROM generate_series(1, :n) g;
INSERT INTO hot_ready SELECT id, job_level, created_at FROM hot_jobs;
VACUUM ANALYZE hot_jobs; VACUUM ANALYZE hot_ready;
