//! Alert text: the alarming findings of one invocation as a message a person reads on a phone.

use crate::audit::{Finding, Verdict};

/// Objects listed in full; the rest are counted (SNS messages are limited to 256 KB).
pub const MAX_LISTED: usize = 50;
/// SNS subjects are limited to 100 ASCII characters.
const MAX_SUBJECT: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    pub subject: String,
    pub body: String,
}

/// `None` when nothing in `findings` is alarming.
pub fn compose(findings: &[Finding]) -> Option<AlertMessage> {
    let alarming: Vec<&Finding> = findings.iter().filter(|f| f.alarming).collect();
    if alarming.is_empty() {
        return None;
    }
    let mut buckets: Vec<&str> = alarming.iter().map(|f| f.source_bucket.as_str()).collect();
    buckets.dedup();
    buckets.sort_unstable();
    buckets.dedup();
    let place = match buckets.as_slice() {
        [one] => one.to_string(),
        many => format!("{} buckets", many.len()),
    };
    let (noun, verb) = if alarming.len() == 1 {
        ("object", "needs")
    } else {
        ("objects", "need")
    };
    let subject = ascii_line(&format!(
        "S3 replication: {} {noun} {verb} attention in {place}",
        alarming.len()
    ));

    let mut body = format!(
        "The replication audit found {} {noun} that {verb} attention.\n",
        alarming.len()
    );
    for (index, finding) in alarming.iter().take(MAX_LISTED).enumerate() {
        body.push('\n');
        body.push_str(&format!(
            "{}. {} — {}/{}{}\n",
            index + 1,
            finding.verdict.as_str().to_uppercase(),
            finding.source_bucket,
            finding.key,
            if finding.delete_marker {
                " (delete marker)"
            } else {
                ""
            }
        ));
        if let Some(version) = &finding.version_id {
            body.push_str(&format!("   version: {version}\n"));
        }
        if let Some(destination) = &finding.destination_bucket {
            body.push_str(&format!("   destination: {destination}\n"));
        }
        body.push_str(&format!("   why: {}\n", finding.detail.reason));
        if let Some(fix) = &finding.detail.remediation {
            body.push_str(&format!("   fix: {fix}\n"));
        }
    }
    if alarming.len() > MAX_LISTED {
        body.push_str(&format!(
            "\n…and {} more (see the auditor's logs for all).\n",
            alarming.len() - MAX_LISTED
        ));
    }
    body.push_str(&format!("\nThis run: {}.\n", summary(findings)));
    body.push_str("Sent by s3-replication-auditor.\n");
    Some(AlertMessage { subject, body })
}

/// "failed 2, missing 1, replicated 5" — verdicts in a fixed order, zeros left out.
pub fn summary(findings: &[Finding]) -> String {
    Verdict::ALL
        .iter()
        .filter_map(|verdict| {
            let n = findings.iter().filter(|f| f.verdict == *verdict).count();
            (n > 0).then(|| format!("{} {n}", verdict.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ascii_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if line.len() > MAX_SUBJECT {
        line.truncate(MAX_SUBJECT - 3);
        line.push_str("...");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Detail;

    fn finding(key: &str, verdict: Verdict, alarming: bool) -> Finding {
        Finding {
            source_bucket: "acme-reports".into(),
            key: key.into(),
            version_id: Some("v1".into()),
            destination_bucket: Some("acme-reports-replica".into()),
            source_status: Some("FAILED".into()),
            verdict,
            alarming,
            delete_marker: false,
            detail: Detail::new("S3 failed to replicate the object: DstPutObjectNotPermitted.")
                .fix("Fix the policy."),
            destination: None,
            age_seconds: None,
            lag_seconds: None,
        }
    }

    #[test]
    fn nothing_alarming_sends_nothing() {
        assert!(compose(&[finding("a", Verdict::Replicated, false)]).is_none());
    }

    #[test]
    fn names_each_object_with_reason_and_fix() {
        let message = compose(&[
            finding("monthly report.pdf", Verdict::Failed, true),
            finding("ok", Verdict::Replicated, false),
        ])
        .unwrap();
        assert_eq!(
            message.subject,
            "S3 replication: 1 object needs attention in acme-reports"
        );
        assert!(message
            .body
            .contains("1. FAILED — acme-reports/monthly report.pdf"));
        assert!(message.body.contains("fix: Fix the policy."));
        assert!(message.body.contains("This run: replicated 1, failed 1."));
    }

    #[test]
    fn long_lists_are_cut_and_subjects_stay_short_ascii() {
        let many: Vec<Finding> = (0..60)
            .map(|i| finding(&format!("ü{i}"), Verdict::Missing, true))
            .collect();
        let message = compose(&many).unwrap();
        assert!(message.body.contains("…and 10 more"));
        assert!(message.subject.is_ascii() && message.subject.len() <= 100);
    }
}
