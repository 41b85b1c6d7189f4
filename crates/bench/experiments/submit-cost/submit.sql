-- 64 jobs submitted through submit_jobs, not handed over (as POST /jobs with no worker waiting).
SELECT count(*) FROM submit_jobs(1, NULL, 300,
  ARRAY(SELECT 's' || md5(random()::text) FROM generate_series(1,64)),
  array_fill('q1'::text, ARRAY[64]), array_fill('bench-1250000000'::text, ARRAY[64]),
  array_fill('ap-chongqing'::text, ARRAY[64]), ARRAY(SELECT 'input/' || g || '.png' FROM generate_series(1,64) g),
  array_fill(1::int2, ARRAY[64]), array_fill('{"UserData":"bench","JobLevel":1}'::jsonb, ARRAY[64]));
