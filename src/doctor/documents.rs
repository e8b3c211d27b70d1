//! The corrected documents doctor prints as fixes: the destination bucket policy statement,
//! the replication role's permissions and trust policies, for one [`Pair`].

use super::pair::Pair;
use serde_json::{json, Value};

/// JSON on one line with the spacing people write (`{"AWS": "…"}`, `["a", "b"]`).
fn inline(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A JSON object with its fields in the order given (how policies are written: Sid, Effect,
/// Principal, Action, Resource, Condition), one field per line.
fn ordered(fields: &[(&str, Value)], indent: &str) -> String {
    let lines: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{indent}  \"{k}\": {}", inline(v)))
        .collect();
    format!("{{\n{}\n{indent}}}", lines.join(",\n"))
}

/// A policy document around statements already rendered by [`ordered`] at four spaces.
fn document(statements: &[String]) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {}\n  ]\n}}",
        statements.join(",\n    ")
    )
}

fn replicate_actions(pair: &Pair) -> Value {
    let mut actions = vec![
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
    ];
    if pair.owner_override != Some(false) {
        actions.push("s3:ObjectOwnerOverrideToBucketOwner");
    }
    json!(actions)
}

/// The destination policy statement replication needs, with the real names filled in.
pub fn corrected_destination_statement(pair: &Pair) -> String {
    ordered(
        &[
            ("Sid", json!("AllowReplicationFromSourceAccount")),
            ("Effect", json!("Allow")),
            ("Principal", json!({"AWS": pair.source_root()})),
            ("Action", replicate_actions(pair)),
            (
                "Resource",
                json!(format!("{}/*", pair.destination_bucket_arn())),
            ),
        ],
        "",
    )
}

/// The replication role's permissions policy, with the real names filled in.
pub fn corrected_role_policy(pair: &Pair) -> String {
    let statement = |actions: Value, resource: String| {
        ordered(
            &[
                ("Effect", json!("Allow")),
                ("Action", actions),
                ("Resource", json!(resource)),
            ],
            "    ",
        )
    };
    document(&[
        statement(
            json!(["s3:GetReplicationConfiguration", "s3:ListBucket"]),
            pair.source_bucket_arn(),
        ),
        statement(
            json!([
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging"
            ]),
            format!("{}/*", pair.source_bucket_arn()),
        ),
        statement(
            replicate_actions(pair),
            format!("{}/*", pair.destination_bucket_arn()),
        ),
    ])
}

/// The trust policy a replication role needs (S3 assumes it for this source bucket).
pub fn corrected_trust_policy(pair: &Pair) -> String {
    document(&[ordered(
        &[
            ("Effect", json!("Allow")),
            ("Principal", json!({"Service": "s3.amazonaws.com"})),
            ("Action", json!("sts:AssumeRole")),
            (
                "Condition",
                json!({
                    "StringEquals": {"aws:SourceAccount": pair.source_account},
                    "ArnLike": {"aws:SourceArn": pair.source_bucket_arn()},
                }),
            ),
        ],
        "    ",
    )])
}
