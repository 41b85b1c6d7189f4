-- The console's job list filtered to suspicious verdicts (of a type): walking the bucket's jobs
-- by time to find the rare suspicious ones read 50,000 rows for a page of a type seen once in a
-- thousand. Partial: only suspicious jobs have entries, so a clean completion (nearly all) adds
-- none. The predicate is the one `list_jobs` writes for `suspicious = true`.
CREATE INDEX jobs_suspicious ON jobs (bucket, created_at, id)
    WHERE result->'ProcessResult'->>'Suspicious' = 'true';
CREATE INDEX jobs_suspicious_type ON jobs (bucket, (result->'ProcessResult'->>'SuspiciousType'), created_at, id)
    WHERE result->'ProcessResult'->>'Suspicious' = 'true';
