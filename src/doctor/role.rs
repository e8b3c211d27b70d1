//! The replication role's trust policy and permission policies, judged for one [`Pair`].
//!
//! | check | FAIL when | WARN when |
//! | --- | --- | --- |
//! | `role-trust.s3-service` | `s3.amazonaws.com` may not assume the role | a condition doctor cannot evaluate |
//! | `role-policy.source-bucket` | `GetReplicationConfiguration` / `ListBucket` on `arn:aws:s3:::A` not allowed | uncertain |
//! | `role-policy.source-objects` | neither `GetObjectVersionForReplication` nor `GetObjectVersion` on `A/*` | `GetObjectVersionAcl` / `GetObjectVersionTagging` missing |
//! | `role-policy.destination-objects` | `ReplicateObject` on `B/*` (and as above) | as above |

use super::documents::{corrected_role_policy, corrected_trust_policy};
use super::pair::{destination_needs, Pair};
use super::placeholders::placeholders_check;
use super::policy::{
    evaluate, Context, Decision, Effect, Policy, PrincipalElement, Request, RequestPrincipal,
};
use super::{Check, Status};

/// The replication role's trust policy: S3 must be able to assume it for this source bucket.
pub fn trust_policy_checks(pair: &Pair, subject: &str, text: &str) -> Vec<Check> {
    let name = "role-trust.s3-service";
    let fix = format!("the role's trust policy:\n{}", corrected_trust_policy(pair));
    let placeholders = placeholders_check("role-trust.placeholders", subject, text, pair);
    let policy = match Policy::parse(text) {
        Ok(policy) => policy,
        Err(error) => {
            return vec![
                Check::fail(name, subject, format!("trust policy: {error}")).with_fix(fix),
                placeholders,
            ]
        }
    };
    let s3 = RequestPrincipal::Service("s3.amazonaws.com".into());
    let context = Context::default()
        .with("aws:SourceAccount", &pair.source_account)
        .with("aws:SourceArn", &pair.source_bucket_arn());
    let evaluation = evaluate(
        &[("the trust policy", &policy)],
        &Request {
            principal: Some(&s3),
            action: "sts:AssumeRole",
            resource: None,
            context: &context,
        },
    );
    let trusted: Vec<String> = policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| match &s.principal {
            PrincipalElement::Principal(p) => Some(
                p.service
                    .iter()
                    .chain(&p.aws)
                    .chain(&p.other)
                    .cloned()
                    .chain(p.anyone.then(|| "*".to_string()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    let check = match evaluation.decision {
        Decision::Allowed => Check::pass(name, subject, "s3.amazonaws.com may assume the role"),
        Decision::ExplicitlyDenied => Check::fail(
            name,
            subject,
            format!(
                "s3.amazonaws.com is denied sts:AssumeRole by {}",
                evaluation.denying.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .with_fix(fix),
        Decision::NotAllowed => Check::fail(
            name,
            subject,
            format!(
                "S3 cannot assume the role: the trust policy trusts {} but not s3.amazonaws.com for {}",
                if trusted.is_empty() { "nobody".to_string() } else { trusted.join(", ") },
                pair.source_bucket
            ),
        )
        .with_fix(fix),
        Decision::Unknown => Check::warn(
            name,
            subject,
            format!(
                "s3.amazonaws.com may assume the role only under a condition doctor cannot evaluate: {}",
                evaluation.uncertain.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        ),
    };
    vec![check, placeholders]
}

/// The replication role's permission policies (inline and attached, already parsed or not).
pub fn role_policy_checks(
    pair: &Pair,
    subject: &str,
    documents: &[(String, String)],
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut policies = Vec::new();
    for (name, text) in documents {
        match Policy::parse(text) {
            Ok(policy) => policies.push((name.clone(), policy)),
            Err(error) => checks.push(Check::fail(
                "role-policy.document",
                subject,
                format!("{name}: {error}"),
            )),
        }
        let check = placeholders_check("role-policy.placeholders", subject, text, pair);
        if check.status != Status::Pass || documents.len() == 1 {
            checks.push(check);
        }
    }
    let judge = RoleJudge {
        policies: policies.iter().map(|(n, p)| (n.as_str(), p)).collect(),
        context: Context::default().with("aws:SecureTransport", "true"),
    };
    checks.push(source_bucket_line(pair, subject, &judge));
    checks.push(source_objects_line(pair, subject, &judge));
    checks.push(destination_objects_line(pair, subject, &judge));
    if let Some(first) = checks.iter_mut().find(|c| {
        c.status == Status::Fail
            && c.name.starts_with("role-policy.")
            && c.name != "role-policy.placeholders"
    }) {
        first.fix = Some(format!(
            "the role's permissions policy:\n{}",
            corrected_role_policy(pair)
        ));
    }
    checks
}

/// What the role's policies allow, as IAM evaluates them (over TLS, as S3 asks).
struct RoleJudge<'a> {
    policies: Vec<(&'a str, &'a Policy)>,
    context: Context,
}

impl RoleJudge<'_> {
    fn judge(&self, action: &str, resource: &str) -> Decision {
        evaluate(
            &self.policies,
            &Request {
                principal: None,
                action,
                resource: Some(resource),
                context: &self.context,
            },
        )
        .decision
    }

    /// Allowed on the other bucket of the pair, not on the right one: source and destination
    /// swapped.
    fn swapped(&self, action: &str, right: &str, other: &str) -> bool {
        self.judge(action, right) != Decision::Allowed
            && self.judge(action, other) == Decision::Allowed
    }
}

/// One needed action: (action, status when missing, decision, swapped, why).
type Need<'a> = (&'a str, Status, Decision, bool, &'a str);

/// Source bucket reads.
fn source_bucket_line(pair: &Pair, subject: &str, judge: &RoleJudge<'_>) -> Check {
    let (src_bucket, dst_bucket) = (pair.source_bucket_arn(), pair.destination_bucket_arn());
    let needs: Vec<Need<'_>> = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
        .into_iter()
        .map(|action| {
            (
                action,
                Status::Fail,
                judge.judge(action, &src_bucket),
                judge.swapped(action, &src_bucket, &dst_bucket),
                "",
            )
        })
        .collect();
    needs_line("role-policy.source-bucket", subject, &src_bucket, &needs)
}

/// Source object reads: GetObjectVersionForReplication or the how-to's GetObjectVersion.
fn source_objects_line(pair: &Pair, subject: &str, judge: &RoleJudge<'_>) -> Check {
    let (src_object, dst_object) = (pair.source_object(), pair.destination_object());
    let for_replication = judge.judge("s3:GetObjectVersionForReplication", &src_object);
    let version = judge.judge("s3:GetObjectVersion", &src_object);
    let read_name = if for_replication == Decision::Allowed || version != Decision::Allowed {
        "s3:GetObjectVersionForReplication"
    } else {
        "s3:GetObjectVersion"
    };
    let read = if for_replication == Decision::Allowed {
        for_replication
    } else {
        version
    };
    let mut needs: Vec<Need<'_>> = vec![(
        read_name,
        Status::Fail,
        read,
        judge.swapped(
            "s3:GetObjectVersionForReplication",
            &src_object,
            &dst_object,
        ) || judge.swapped("s3:GetObjectVersion", &src_object, &dst_object),
        "or s3:GetObjectVersion",
    )];
    for action in ["s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"] {
        needs.push((
            action,
            Status::Warn,
            judge.judge(action, &src_object),
            false,
            "ACLs and tags do not replicate without it",
        ));
    }
    let resource = format!("{}/*", pair.source_bucket_arn());
    needs_line("role-policy.source-objects", subject, &resource, &needs)
}

/// Destination object writes (and `s3:PutObject` named where `s3:ReplicateObject` is meant).
fn destination_objects_line(pair: &Pair, subject: &str, judge: &RoleJudge<'_>) -> Check {
    let (src_object, dst_object) = (pair.source_object(), pair.destination_object());
    let needs: Vec<Need<'_>> = destination_needs(pair)
        .into_iter()
        .map(|(action, status, why)| {
            (
                action,
                status,
                judge.judge(action, &dst_object),
                judge.swapped(action, &dst_object, &src_object),
                why,
            )
        })
        .collect();
    let resource = format!("{}/*", pair.destination_bucket_arn());
    let mut line = needs_line(
        "role-policy.destination-objects",
        subject,
        &resource,
        &needs,
    );
    if needs
        .iter()
        .any(|(a, _, d, _, _)| *a == "s3:ReplicateObject" && *d != Decision::Allowed)
        && judge.judge("s3:PutObject", &dst_object) == Decision::Allowed
    {
        line.found.push_str(
            "; s3:PutObject is allowed instead: S3 writes replicas with s3:ReplicateObject",
        );
    }
    line
}

/// One line for a list of needed actions on one resource.
fn needs_line(name: &'static str, subject: &str, resource: &str, needs: &[Need<'_>]) -> Check {
    let mut status = Status::Pass;
    let mut allowed = Vec::new();
    let mut problems = Vec::new();
    for (action, severity, decision, swapped, why) in needs {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        match decision {
            Decision::Allowed => allowed.push(action.to_string()),
            Decision::ExplicitlyDenied => {
                status = Status::Fail;
                problems.push(format!("{action} is explicitly denied"));
            }
            Decision::NotAllowed => {
                status = status.max(*severity);
                if *swapped {
                    problems.push(format!(
                        "{action} is allowed on the other bucket of the pair, not on {resource}: source and destination are swapped"
                    ));
                } else {
                    problems.push(format!("{action} not allowed{why}"));
                }
            }
            Decision::Unknown => {
                status = status.max(Status::Warn);
                problems.push(format!(
                    "{action} depends on a condition doctor cannot evaluate"
                ));
            }
        }
    }
    let found = if problems.is_empty() {
        format!("allows {} on {resource}", allowed.join(", "))
    } else {
        format!("on {resource}: {}", problems.join("; "))
    };
    Check::new(name, subject, status, found)
}
