-- The same 50,000 jobs in the split tables.
TRUNCATE deliveries;
TRUNCATE split_states, split_jobs;
INSERT INTO split_jobs (job_id, queue_id, bucket, region, object, request)
SELECT 'si' || md5(g::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'objects/' || g || '.png',
       jsonb_build_object('Tag','ImageInspect','Input',jsonb_build_object('Object','objects/'||g||'.png'),
         'Operation', jsonb_build_object('UserData', repeat('u', 40)), 'CallBack', 'http://127.0.0.1:9/cb', 'CallBackFormat','JSON')
FROM generate_series(1, 50000) g;
INSERT INTO split_states (id, job_level, created_at, bucket) SELECT id, job_level, created_at, bucket FROM split_jobs;
VACUUM ANALYZE split_jobs; VACUUM ANALYZE split_states;
