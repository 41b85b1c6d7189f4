//! `stowaway-bench console`: the console's pages rendered server-side (router in process, no
//! network) over a bucket of a million jobs spread across 30 days, 1 % suspicious (a tenth of
//! those ZIP, the rest MPEG-TS): the first page of the job list, filtered pages, the second page
//! by its cursor, and the overview. Issue 19's bar: the job list in ≤ 50 ms.
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use stowaway_api::{router, ApiConfig, AppState};
use stowaway_store::Store;
use tower::ServiceExt;

use super::{median, BelowFloor, BoxError, Scratch};

const BUCKET: &str = "examplebucket-1250000000";

#[derive(clap::Args)]
pub struct ConsoleArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[arg(long, default_value_t = 1_000_000)]
    jobs: i64,
    /// Renders of each page.
    #[arg(long, default_value_t = 30)]
    renders: usize,
    /// Fail (exit 1) when a job-list page's median is above this many milliseconds.
    #[arg(long)]
    max_ms: Option<f64>,
}

pub async fn console(a: ConsoleArgs) -> Result<(), BoxError> {
    let scratch = Scratch::create(&a.database_url, 8).await?;
    let result = run(&a, &scratch).await;
    scratch.drop_it().await?;
    result
}

/// The jobs, in one statement: generating a million through the API would measure the API.
async fn fill(scratch: &Scratch, n: i64) -> Result<(), BoxError> {
    let started = Instant::now();
    let queue = Store::from_pool(scratch.pool.clone()).ensure_queue(BUCKET, "ap-chongqing").await?;
    sqlx::query(
        "INSERT INTO jobs (job_id, queue_id, bucket, region, object, job_level, state, request, result,
                           created_at, started_at, finished_at)
         SELECT 'c' || md5(i::text), $3, $1, 'ap-chongqing',
                (ARRAY['uploads/', 'avatars/', 'posts/'])[i % 3 + 1] || i || '.png', 0, 2,
                '{\"Tag\":\"ImageInspect\"}'::jsonb,
                CASE WHEN i % 100 = 0 THEN jsonb_build_object('State', 'Success', 'ProcessResult',
                         jsonb_build_object('PicSize', 7602, 'PicType', 'png', 'Suspicious', 'true',
                             'SuspiciousType', CASE WHEN i % 1000 = 0 THEN 'ZIP' ELSE 'MPEG-TS' END,
                             'SuspiciousBeginByte', 82, 'SuspiciousEndByte', 7601))
                     ELSE '{\"State\":\"Success\",\"ProcessResult\":{\"PicSize\":82,\"PicType\":\"png\",\"Suspicious\":\"false\"}}'::jsonb END,
                t, t, t
         FROM generate_series(1, $2) AS i, LATERAL (SELECT now() - (i * interval '30 days' / $2)) AS c(t)",
    )
    .bind(BUCKET)
    .bind(n)
    .bind(&queue.queue_id)
    .execute(&scratch.pool)
    .await?;
    sqlx::query("ANALYZE jobs").execute(&scratch.pool).await?;
    println!("{n} jobs stored in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn render(app: &axum::Router, uri: &str) -> Result<(Duration, String), BoxError> {
    let started = Instant::now();
    let req = Request::builder().uri(uri).header("host", "127.0.0.1").body(Body::empty())?;
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status();
    let body = String::from_utf8(resp.into_body().collect().await?.to_bytes().to_vec())?;
    if !status.is_success() {
        return Err(format!("{uri}: {status}: {body}").into());
    }
    Ok((started.elapsed(), body))
}

async fn run(a: &ConsoleArgs, scratch: &Scratch) -> Result<(), BoxError> {
    fill(scratch, a.jobs).await?;
    let app = router(AppState::new(Store::from_pool(scratch.pool.clone()), ApiConfig::default()));
    let first = format!("/console/jobs?bucket={BUCKET}");
    let (_, page) = render(&app, &first).await?;
    let next =
        page.split("href=\"/console/jobs?").find(|p| p.contains("after=")).and_then(|p| p.split('"').next());
    let next = format!("/console/jobs?{}", next.ok_or("no next page")?.replace("&amp;", "&"));
    let pages = [
        ("job list, first page", first.clone()),
        ("job list, second page (cursor)", next),
        ("suspicious only", format!("{first}&verdict=suspicious")),
        ("suspicious ZIP only (0.1 %)", format!("{first}&verdict=suspicious&type=ZIP")),
        ("key prefix", format!("{first}&prefix=avatars/99")),
        ("overview, last 24 hours", format!("/console/?bucket={BUCKET}")),
    ];
    println!("{} renders of each page, server-side, {} jobs in the bucket", a.renders, a.jobs);
    let mut worst_list: f64 = 0.0;
    for (name, uri) in &pages {
        let mut ms = Vec::with_capacity(a.renders);
        for _ in 0..a.renders {
            ms.push(render(&app, uri).await?.0.as_secs_f64() * 1000.0);
        }
        let p95 = {
            ms.sort_by(|x, y| x.total_cmp(y));
            ms[(ms.len() * 95 / 100).min(ms.len() - 1)]
        };
        let med = median(&mut ms);
        println!("  {name:34} median {med:7.2} ms, p95 {p95:7.2} ms");
        if !name.starts_with("overview") {
            worst_list = worst_list.max(med);
        }
    }
    match a.max_ms {
        Some(max) if worst_list > max => {
            Err(Box::new(BelowFloor(format!("a job-list page took {worst_list:.1} ms (at most {max})"))))
        }
        _ => Ok(()),
    }
}
