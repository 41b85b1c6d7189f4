-- :n Submitted jobs shaped as `stowaway-bench queue`'s in `jobs` (0018's schema or 0019's: its trigger queues them).
TRUNCATE deliveries;
TRUNCATE jobs CASCADE;
INSERT INTO queues (queue_id, bucket, name) VALUES ('q1','bench-1250000000','q') ON CONFLICT DO NOTHING;
INSERT INTO jobs (job_id, queue_id, bucket, region, object, job_level, request)
SELECT 'si' || md5(g::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'input/' || g || '.png', (g % 3)::int2,
       jsonb_build_object('UserData','bench','JobLevel',g % 3)
FROM generate_series(1, :n) g;
VACUUM ANALYZE jobs;
