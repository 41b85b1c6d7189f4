-- The same 1,000 jobs into the HOT-lease tables: the job row and its place in `hot_ready`.
WITH j AS (
  INSERT INTO hot_jobs (job_id, queue_id, bucket, region, object, job_level, request)
  SELECT 's' || md5(random()::text), 'q1', 'bench-1250000000', 'ap-chongqing', 'input/' || g || '.png', (g % 3)::int2,
         jsonb_build_object('UserData','bench','JobLevel',g % 3)
  FROM generate_series(1, 1000) g
  RETURNING id, job_level, created_at)
INSERT INTO hot_ready SELECT id, job_level, created_at FROM j;
