//! Verdict tags (Stowaway's extension, `STOWAWAY_OBJECT_TAGS=on`): what the worker writes on a
//! scanned object so that a bucket policy can deny reads of anything not `clean`, and what a
//! re-inspection batch reads back. Our keys start with `stowaway-`; a user's tags are never
//! dropped: when S3's ten do not leave room for all of ours, ours go, least needed first.
use chrono::{DateTime, SecondsFormat, Utc};
use stowaway_detect::DETECTOR_VERSION;
use stowaway_objects::{ObjectError, Objects};
use stowaway_wire::TaggingResult;

/// Every key of ours starts with it; any other key is the user's.
pub const PREFIX: &str = "stowaway-";
pub const STATUS: &str = "stowaway-status";
pub const TYPE: &str = "stowaway-type";
pub const DETECTOR: &str = "stowaway-detector";
pub const SCANNED_AT: &str = "stowaway-scanned-at";
/// S3's most tags on one object.
pub const MAX_TAGS: usize = 10;

pub type Tag = (String, String);

/// `stowaway-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Clean,
    Suspicious,
    /// The object was read but could not be judged (or not read for a reason other than absence).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Suspicious => "suspicious",
            Status::Error => "error",
        }
    }
}

/// Our tags for a verdict, most needed first: the status (what policies read), the type, the
/// detector's version (what re-inspection reads), the time.
pub fn verdict_tags(status: Status, suspicious_type: Option<&str>, scanned_at: DateTime<Utc>) -> Vec<Tag> {
    let mut tags = vec![(STATUS.to_string(), status.as_str().to_string())];
    if let Some(t) = suspicious_type {
        tags.push((TYPE.to_string(), tag_value(t)));
    }
    tags.push((DETECTOR.to_string(), DETECTOR_VERSION.to_string()));
    tags.push((SCANNED_AT.to_string(), scanned_at.to_rfc3339_opts(SecondsFormat::Secs, true)));
    tags
}

/// The tag set to write: the user's tags as they are, then as many of `ours` as fit (a previous
/// verdict's tags are replaced, never kept beside the new ones), and the names of ours left out.
/// `Err` when not even `stowaway-status` fits.
pub fn merge(existing: &[Tag], ours: Vec<Tag>) -> Result<(Vec<Tag>, Vec<String>), String> {
    let mut tags: Vec<Tag> = existing.iter().filter(|(k, _)| !k.starts_with(PREFIX)).cloned().collect();
    let room = MAX_TAGS.saturating_sub(tags.len());
    if room == 0 {
        return Err(format!(
            "the object carries {} tags of its own, S3's most ({MAX_TAGS}): no room for {STATUS}, \
             and a user's tag is never dropped",
            tags.len()
        ));
    }
    let left_out = ours.iter().skip(room).map(|(k, _)| k.clone()).collect();
    tags.extend(ours.into_iter().take(room));
    Ok((tags, left_out))
}

/// Writes `ours` over the object's tags (`existing`, as read after its fetch): one request.
/// The outcome is the job's `TaggingResult`; the verdict stands either way.
pub async fn write(
    objects: &Objects,
    bucket: &str,
    key: &str,
    existing: Result<Vec<Tag>, ObjectError>,
    ours: Vec<Tag>,
) -> TaggingResult {
    let outcome = match existing.map(|existing| merge(&existing, ours)) {
        Ok(Ok((tags, left_out))) => match objects.set_tags(bucket, key, &tags).await {
            Ok(()) if left_out.is_empty() => Ok("Success".to_string()),
            Ok(()) => Ok(format!(
                "Success without {}: the object's own tags leave no more room among S3's {MAX_TAGS}",
                left_out.join(", ")
            )),
            Err(e) => Err(refusal(&e)),
        },
        Ok(Err(why)) => Err(why),
        Err(e) => Err(refusal(&e)),
    };
    metrics::counter!("stowaway_object_tags_total", "outcome" => if outcome.is_ok() { "success" } else { "failed" })
        .increment(1);
    match outcome {
        Ok(message) => TaggingResult { code: "Success".into(), message },
        Err(message) => {
            tracing::warn!(bucket, key, %message, "verdict tags not written");
            TaggingResult { code: "Failed".into(), message }
        }
    }
}

fn refusal(e: &ObjectError) -> String {
    if e.code == "NotImplemented" {
        format!("the store does not support object tags ({e}): set STOWAWAY_OBJECT_TAGS=off, or use a store that has them")
    } else {
        e.to_string()
    }
}

/// Whether a re-inspection batch should take the object: no `stowaway-detector` tag, or one
/// older than this detector (or unreadable).
pub fn outdated(existing: &[Tag]) -> bool {
    match existing.iter().find(|(k, _)| k == DETECTOR) {
        Some((_, v)) => v.parse::<u32>().map_or(true, |v| v < DETECTOR_VERSION),
        None => true,
    }
}

/// S3 tag values allow letters, digits, spaces and `+ - = . _ : / @`; anything else becomes `_`.
fn tag_value(v: &str) -> String {
    v.chars()
        .take(256)
        .map(|c| if c.is_alphanumeric() || " +-=._:/@".contains(c) { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        (k.to_string(), v.to_string())
    }

    fn user_tags(n: usize) -> Vec<Tag> {
        (0..n).map(|i| tag(&format!("team{i}"), "x")).collect()
    }

    fn at() -> DateTime<Utc> {
        "2026-12-06T13:22:16.5Z".parse().unwrap()
    }

    #[test]
    fn a_verdict_names_status_type_detector_and_time() {
        let tags = verdict_tags(Status::Suspicious, Some("MPEG-TS"), at());
        assert_eq!(
            tags,
            vec![
                tag(STATUS, "suspicious"),
                tag(TYPE, "MPEG-TS"),
                tag(DETECTOR, &DETECTOR_VERSION.to_string()),
                tag(SCANNED_AT, "2026-12-06T13:22:16Z"),
            ]
        );
        assert_eq!(verdict_tags(Status::Clean, None, at()).len(), 3);
        assert_eq!(tag_value("a*b<c>"), "a_b_c_");
    }

    #[test]
    fn merging_keeps_every_user_tag_and_replaces_a_previous_verdict() {
        let existing =
            vec![tag("owner", "web"), tag(STATUS, "suspicious"), tag(TYPE, "ZIP"), tag("stage", "raw")];
        let (tags, left_out) = merge(&existing, verdict_tags(Status::Clean, None, at())).unwrap();
        assert!(left_out.is_empty());
        assert_eq!(&tags[..2], &[tag("owner", "web"), tag("stage", "raw")]);
        assert_eq!(tags[2], tag(STATUS, "clean"));
        assert!(!tags.iter().any(|(k, _)| k == TYPE), "the old verdict's type is gone: {tags:?}");
        assert_eq!(tags.len(), 5);
    }

    #[test]
    fn at_the_limit_ours_give_way_least_needed_first_and_never_the_users() {
        for (users, kept) in [(6, 4), (7, 3), (8, 2), (9, 1)] {
            let ours = verdict_tags(Status::Suspicious, Some("ZIP"), at());
            let (tags, left_out) = merge(&user_tags(users), ours.clone()).unwrap();
            assert_eq!(tags.len(), users + kept);
            assert_eq!(&tags[..users], &user_tags(users)[..]);
            assert_eq!(&tags[users..], &ours[..kept]);
            assert_eq!(left_out.len(), 4 - kept);
        }
        let err = merge(&user_tags(10), verdict_tags(Status::Clean, None, at())).unwrap_err();
        assert!(err.contains("10 tags of its own"), "{err}");
    }

    #[test]
    fn outdated_means_no_detector_tag_an_older_one_or_junk() {
        let with = |v: &str| vec![tag("owner", "web"), tag(DETECTOR, v)];
        assert!(outdated(&[]));
        assert!(outdated(&with(&(DETECTOR_VERSION - 1).to_string())));
        assert!(outdated(&with("new")));
        assert!(!outdated(&with(&DETECTOR_VERSION.to_string())));
        assert!(!outdated(&with(&(DETECTOR_VERSION + 1).to_string())));
    }
}
