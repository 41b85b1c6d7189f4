//! The console's first page: a bucket's last day — jobs by state, a chart of jobs and suspicious
//! ones by hour and payload type (SVG drawn here, no script), the payload types caught, the queue, the callback
//! backlog and the latest failures.
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;
use stowaway_store::{JobFilter, JobState, Overview};

use super::html::{escape, url};
use super::jobs::{buckets, queue_state, store_failed};
use super::Viewer;
use crate::AppState;

const HOURS: i64 = 24;

pub fn router() -> Router<AppState> {
    Router::new().route("/console/", get(overview)).route("/console", get(overview))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OverviewQuery {
    bucket: String,
}

async fn overview(viewer: Viewer, State(app): State<AppState>, Query(q): Query<OverviewQuery>) -> Response {
    let (_, bucket) = match buckets(&app, &viewer, &q.bucket).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let now = Utc::now().duration_trunc(Duration::hours(1)).expect("an hour divides time");
    let since = now - Duration::hours(HOURS - 1);
    let failures = JobFilter {
        bucket: bucket.clone(),
        states: Some(vec![JobState::Failed]),
        created_from: Some(since),
        limit: 10,
        ..JobFilter::default()
    };
    let (o, failed, backlog) = match tokio::try_join!(
        app.store.overview(&bucket, since),
        app.store.list_jobs(&failures),
        app.store.backlog()
    ) {
        Ok(all) => all,
        Err(e) => return store_failed(&viewer, e),
    };
    let jobs_link = |query: &str| format!("/console/jobs?bucket={}{query}", url(&bucket));
    let mut body = format!(
        "<h1>{}, the last {HOURS} hours</h1>{}<p><a href=\"{}\">All jobs</a> · <a href=\"{}\">Suspicious jobs</a></p>",
        escape(&bucket),
        queue_state(&app, &viewer, &bucket).await,
        jobs_link(""),
        jobs_link("&amp;verdict=suspicious")
    );
    body.push_str("<h2>Jobs by state</h2><table id=\"states\"><tbody>");
    for (state, n) in &o.by_state {
        body.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>", state.as_str()));
    }
    let total: i64 = o.by_hour.iter().map(|h| h.1).sum();
    let suspicious: i64 = o.by_hour.iter().map(|h| h.2).sum();
    let rate =
        if total > 0 { format!("{:.1} %", suspicious as f64 * 100.0 / total as f64) } else { "–".into() };
    body.push_str(&format!(
        "</tbody></table><h2>Jobs by hour, the suspicious ones by payload type</h2><p id=\"rate\">{suspicious} suspicious of {total} ({rate})</p>{}",
        chart(&o, since)
    ));
    body.push_str("<h2>Payload types caught</h2><table id=\"types\"><tbody>");
    for (kind, n) in &o.by_type {
        let link = jobs_link(&format!("&amp;verdict=suspicious&amp;type={}", url(kind)));
        body.push_str(&format!(
            "<tr><td>{}<a href=\"{link}\">{}</a></td><td>{n}</td></tr>",
            swatch(&o.by_type, kind),
            escape(kind)
        ));
    }
    body.push_str(&format!(
        "</tbody></table><h2>Callbacks</h2><p>{} waiting to be sent, across every bucket.</p><h2>Failures of the last day</h2>",
        backlog.callbacks
    ));
    if failed.is_empty() {
        body.push_str("<p>None.</p>");
    }
    for j in &failed {
        body.push_str(&format!(
            "<p><a href=\"/console/jobs/{}/{}\">{}</a>: {}</p>",
            url(&j.bucket),
            url(&j.job_id),
            escape(&j.object),
            escape(j.last_error.as_deref().unwrap_or(""))
        ));
    }
    viewer.page("Overview", &body)
}

/// The colours of the payload types, most caught first; the rest share the last.
const TYPE_COLOURS: [&str; 6] = ["#b3261e", "#e8710a", "#8e24aa", "#1e88e5", "#00897b", "#5d4037"];

fn colour(types: &[(String, i64)], kind: &str) -> &'static str {
    let i = types.iter().position(|(k, _)| k == kind).unwrap_or(usize::MAX);
    TYPE_COLOURS[i.min(TYPE_COLOURS.len() - 1)]
}

/// A small square of a type's colour, for the table that names them.
fn swatch(types: &[(String, i64)], kind: &str) -> String {
    format!(
        "<svg class=\"swatch\" viewBox=\"0 0 10 10\"><rect width=\"10\" height=\"10\" fill=\"{}\"/></svg>",
        colour(types, kind)
    )
}

/// One bar an hour, its height the jobs; at its foot the suspicious ones, a segment per payload
/// type in the type's colour.
fn chart(o: &Overview, since: DateTime<Utc>) -> String {
    let (w, h, bar) = (HOURS * 20, 120i64, 16i64);
    let most = o.by_hour.iter().map(|x| x.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"jobs and suspicious jobs by hour and payload type\">",
        h + 16
    );
    for (at, jobs, suspicious) in &o.by_hour {
        let x = (*at - since).num_hours() * 20 + 2;
        let jh = jobs * h / most;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{jh}\" fill=\"#9fb3c8\"><title>{}: {jobs} jobs, {suspicious} suspicious</title></rect>",
            h - jh,
            at.format("%H:00"),
        ));
        let mut top = h;
        for (_, kind, n) in o.by_hour_and_type.iter().filter(|(t, ..)| t == at) {
            let sh = n * h / most;
            top -= sh;
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{top}\" width=\"{bar}\" height=\"{sh}\" fill=\"{}\"><title>{n} {}</title></rect>",
                colour(&o.by_type, kind),
                escape(kind)
            ));
        }
    }
    for i in (0..HOURS).step_by(6) {
        let label = (since + Duration::hours(i)).format("%H:00");
        svg.push_str(&format!("<text x=\"{}\" y=\"{}\" font-size=\"11\">{label}</text>", i * 20, h + 13));
    }
    svg + "</svg>"
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use stowaway_store::Overview;

    #[test]
    fn bars_are_scaled_to_the_busiest_hour_and_split_by_type() {
        let since = chrono::Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap();
        let later = since + chrono::Duration::hours(3);
        let o = Overview {
            by_hour: vec![(since, 10, 5), (later, 40, 0)],
            by_hour_and_type: vec![(since, "MPEG-TS".into(), 4), (since, "ZIP".into(), 1)],
            by_type: vec![("MPEG-TS".into(), 4), ("ZIP".into(), 1)],
            ..Overview::default()
        };
        let svg = super::chart(&o, since);
        assert!(svg.contains("x=\"2\" y=\"90\" width=\"16\" height=\"30\""), "{svg}");
        assert!(svg.contains("x=\"62\" y=\"0\" width=\"16\" height=\"120\""), "{svg}");
        assert!(svg.contains("x=\"2\" y=\"108\" width=\"16\" height=\"12\" fill=\"#b3261e\""), "{svg}");
        assert!(svg.contains("x=\"2\" y=\"105\" width=\"16\" height=\"3\" fill=\"#e8710a\""), "{svg}");
    }
}
