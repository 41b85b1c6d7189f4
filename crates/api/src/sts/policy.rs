//! What a temporary key may do, read from Tencent's CAM policy as `qcloud-cos-sts` takes it:
//! `{"version":"2.0","statement":[{"effect":"allow","action":["name/ci:CreateMediaJobs"],
//! "resource":["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/uploads/*"]}]}`.
//! A deny wins over any allow; nothing is allowed that no statement allows.
use serde::{Deserialize, Serialize};

use crate::auth::action_matches;
use crate::context::valid_bucket;

/// A policy, its resources normalised to `<bucket or *>/<key pattern>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    #[serde(rename = "s")]
    statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    deny: bool,
    #[serde(rename = "a")]
    actions: Vec<String>,
    #[serde(rename = "r")]
    resources: Vec<String>,
}

/// What a request touches.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// The bucket as a whole (listing jobs, queues, workflows): the resource must cover every key.
    Bucket(&'a str),
    /// One object of the bucket (a sync inspection, a job's input).
    Object(&'a str, &'a str),
    /// Some object of the bucket, named in a body not read yet: the handler checks the key.
    SomeObject(&'a str),
    /// No one bucket (listing buckets): only `*` resources.
    Everything,
}

#[derive(Deserialize)]
struct CamPolicy {
    #[serde(default)]
    version: Option<String>,
    statement: Vec<CamStatement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CamStatement {
    effect: String,
    #[serde(deserialize_with = "one_or_many")]
    action: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    resource: Vec<String>,
    #[serde(default)]
    condition: Option<serde_json::Value>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Policy {
    /// Reads a CAM policy; refuses what it cannot enforce (conditions, `*` inside a key) rather than
    /// grant more than was asked.
    pub fn from_cam(text: &str) -> Result<Policy, String> {
        let cam: CamPolicy =
            serde_json::from_str(text).map_err(|e| format!("the policy is not a CAM policy: {e}"))?;
        if cam.version.as_deref().is_some_and(|v| v != "2.0") {
            return Err("the policy's version must be 2.0".into());
        }
        if cam.statement.is_empty() {
            return Err("the policy has no statement".into());
        }
        let statements = cam
            .statement
            .into_iter()
            .map(|s| {
                let deny = match s.effect.to_ascii_lowercase().as_str() {
                    "allow" => false,
                    "deny" => true,
                    other => return Err(format!("effect {other:?} is neither allow nor deny")),
                };
                if s.condition.is_some() {
                    return Err(
                        "conditions are not supported: narrow the resources or actions instead".into()
                    );
                }
                let actions =
                    s.action.iter().map(|a| a.strip_prefix("name/").unwrap_or(a).to_string()).collect();
                let resources = s.resource.iter().map(|r| resource(r)).collect::<Result<_, _>>()?;
                Ok(Statement { deny, actions, resources })
            })
            .collect::<Result<_, String>>()?;
        Ok(Policy { statements })
    }

    /// Allows `action` on everything (a temporary key as strong as its parent).
    pub fn everything() -> Policy {
        Policy {
            statements: vec![Statement {
                deny: false,
                actions: vec!["*".into()],
                resources: vec!["*/*".into()],
            }],
        }
    }

    pub fn permits(&self, action: &str, scope: Scope) -> bool {
        let matching = |deny: bool| {
            self.statements.iter().filter(move |s| s.deny == deny).any(|s| {
                s.actions.iter().any(|a| action_matches(a, action))
                    && s.resources.iter().any(|r| covers(r, scope, deny))
            })
        };
        !matching(true) && matching(false)
    }
}

/// `qcs::cos:<region>:uid/<appid>:<bucket>/<key>`, `qcs::ci:<region>:uid/<appid>:bucket/<bucket>/<key>`,
/// `<bucket>/<key>` or `*`, as `<bucket or *>/<key pattern>`. Region and APPID are not checked:
/// the bucket's name carries the APPID and a deployment serves its own buckets.
fn resource(text: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("resource {text:?}: {why}"));
    let rest = match text.strip_prefix("qcs::") {
        None => text,
        Some(qcs) => match qcs.splitn(4, ':').collect::<Vec<_>>().as_slice() {
            ["cos", _region, _uid, rest] => *rest,
            ["ci", _region, _uid, rest] => rest.strip_prefix("bucket/").unwrap_or(rest),
            _ => return bad(
                "expected qcs::cos:<region>:uid/<appid>:<bucket>/<key> or qcs::ci:…:bucket/<bucket>/<key>",
            ),
        },
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, "*"));
    if bucket != "*" && !valid_bucket(bucket) {
        return bad("not a bucket name (<name>-<APPID>)");
    }
    if bucket == "*" && key != "*" {
        return bad("a key pattern needs a bucket");
    }
    if key.trim_end_matches('*').contains('*') {
        return bad("only a trailing * is supported in a key");
    }
    Ok(format!("{bucket}/{key}"))
}

/// Whether resource `r` covers `scope`. An allow for a prefix admits [`Scope::SomeObject`] (the
/// handler checks the key); a deny applies to it only if it covers the whole bucket.
fn covers(r: &str, scope: Scope, deny: bool) -> bool {
    let (bucket, pattern) = r.split_once('/').expect("normalised resource");
    let bucket_is = |b: &str| bucket == "*" || bucket == b;
    let whole = pattern == "*";
    match scope {
        Scope::Everything => bucket == "*",
        Scope::Bucket(b) => bucket_is(b) && whole,
        Scope::SomeObject(b) => bucket_is(b) && (whole || !deny),
        Scope::Object(b, key) => {
            bucket_is(b)
                && match pattern.strip_suffix('*') {
                    Some(prefix) => key.starts_with(prefix),
                    None => key == pattern,
                }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "examplebucket-1250000000";

    fn policy(statements: &str) -> Policy {
        Policy::from_cam(&format!(r#"{{"version":"2.0","statement":{statements}}}"#)).unwrap()
    }

    #[test]
    fn a_prefix_admits_its_keys_and_nothing_else() {
        let p = policy(&format!(
            r#"[{{"effect":"allow","action":["name/ci:CreateImageInspectJob","name/ci:CreateMediaJobs"],
               "resource":["qcs::cos:ap-guangzhou:uid/1250000000:{B}/uploads/*"]}}]"#
        ));
        assert!(p.permits("ci:CreateImageInspectJob", Scope::Object(B, "uploads/a.png")));
        assert!(!p.permits("ci:CreateImageInspectJob", Scope::Object(B, "private/a.png")));
        assert!(!p.permits("ci:CreateImageInspectJob", Scope::Object("other-1250000000", "uploads/a.png")));
        assert!(p.permits("ci:CreateMediaJobs", Scope::SomeObject(B)));
        assert!(!p.permits("ci:DescribeMediaJobs", Scope::Bucket(B)), "an action not named");
        assert!(!p.permits("ci:CreateMediaJobs", Scope::Bucket(B)), "a prefix is not the bucket");
        assert!(!p.permits("ci:CreateMediaJobs", Scope::Everything));
    }

    #[test]
    fn ci_resources_star_and_single_strings_read() {
        let p = policy(&format!(
            r#"[{{"effect":"Allow","action":"ci:*","resource":"qcs::ci:ap-guangzhou:uid/1250000000:bucket/{B}/*"}},
               {{"effect":"allow","action":["ci:DescribePicProcessBucket"],"resource":["*"]}}]"#
        ));
        assert!(p.permits("ci:DescribeMediaJobs", Scope::Bucket(B)));
        assert!(p.permits("ci:CreateImageInspectJob", Scope::Object(B, "any/key.png")));
        assert!(p.permits("ci:DescribePicProcessBucket", Scope::Everything));
        assert!(!p.permits("sts:GetFederationToken", Scope::Bucket(B)), "ci:* is CI's actions only");
    }

    #[test]
    fn a_deny_wins() {
        let p = policy(&format!(
            r#"[{{"effect":"allow","action":["*"],"resource":["{B}/*"]}},
               {{"effect":"deny","action":["ci:CreateImageInspectJob"],"resource":["{B}/secret/*"]}},
               {{"effect":"deny","action":["ci:CancelMediaJob"],"resource":["{B}/*"]}}]"#
        ));
        assert!(p.permits("ci:CreateImageInspectJob", Scope::Object(B, "public/a.png")));
        assert!(!p.permits("ci:CreateImageInspectJob", Scope::Object(B, "secret/a.png")));
        assert!(p.permits("ci:CreateImageInspectJob", Scope::SomeObject(B)), "the handler checks the key");
        assert!(!p.permits("ci:CancelMediaJob", Scope::Bucket(B)));
    }

    #[test]
    fn what_cannot_be_enforced_is_refused() {
        for (statement, why) in [
            (
                r#"[{"effect":"allow","action":["*"],"resource":["*"],"condition":{"ip_equal":{"qcs:ip":"10.0.0.0/8"}}}]"#,
                "conditions",
            ),
            (
                r#"[{"effect":"allow","action":["*"],"resource":["examplebucket-1250000000/a*b"]}]"#,
                "trailing",
            ),
            (r#"[{"effect":"allow","action":["*"],"resource":["NotABucket/x"]}]"#, "bucket name"),
            (r#"[{"effect":"allow","action":["*"],"resource":["*/uploads/*"]}]"#, "needs a bucket"),
            (r#"[{"effect":"maybe","action":["*"],"resource":["*"]}]"#, "neither"),
            (r#"[]"#, "no statement"),
        ] {
            let e = Policy::from_cam(&format!(r#"{{"version":"2.0","statement":{statement}}}"#)).unwrap_err();
            assert!(e.contains(why), "{statement}: {e}");
        }
        assert!(Policy::from_cam("not json").is_err());
    }

    #[test]
    fn an_exact_key_is_that_key() {
        let p = policy(&format!(r#"[{{"effect":"allow","action":["*"],"resource":["{B}/a.png"]}}]"#));
        assert!(p.permits("ci:CreateImageInspectJob", Scope::Object(B, "a.png")));
        assert!(!p.permits("ci:CreateImageInspectJob", Scope::Object(B, "a.png.zip")));
    }
}
