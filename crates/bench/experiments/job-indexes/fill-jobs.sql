-- 50,000 Submitted jobs in `jobs` as the migrations made it, statistics fresh.
TRUNCATE deliveries;
TRUNCATE jobs CASCADE;
INSERT INTO queues (queue_id, bucket, name) VALUES ('q1','bench-1250000000','q') ON CONFLICT DO NOTHING;
INSERT INTO jobs (job_id, queue_id, bucket, region, object, request)
SELECT 'si' || md5(g::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'objects/' || g || '.png',
       jsonb_build_object('Tag','ImageInspect','Input',jsonb_build_object('Object','objects/'||g||'.png'),
         'Operation', jsonb_build_object('UserData', repeat('u', 40)), 'CallBack', 'http://127.0.0.1:9/cb', 'CallBackFormat','JSON')
FROM generate_series(1, 50000) g;
VACUUM ANALYZE jobs;
