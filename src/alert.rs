//! Alert text: the alarming findings of one invocation, grouped by cause, as a person reads it
//! on a phone, in a chat channel, or a program reads it from a queue.
//!
//! Replication breaks in storms — one wrong bucket policy fails every object written after it —
//! so a message names each cause once (verdict, S3's failure code or the auditor's cause,
//! destination) with its count, its fix and a few example objects, never the same fix forty
//! times. [`AlertGate`] keeps one container from repeating a cause within a cool-down; the
//! next message about it carries the count held back. The CloudWatch alarms are the page (they
//! count every object, whatever container saw it); this message is the detail.
//!
//! One message has three renderings, published together with SNS `MessageStructure=json`
//! (SNS API reference, Publish): plain text (`default`, `email`), an Amazon Q Developer in chat
//! applications custom notification (`https`: its admin guide, "Custom notifications"), and the
//! findings as JSON (`sqs`, `lambda`). Everything that came from outside — object keys, S3's
//! failure codes — is escaped for each format, and with `AUDITOR_LOG_KEYS=hash` only the key's
//! hash leaves S3.

use crate::audit::{Finding, Verdict};
use crate::config::LogKeys;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Example objects named per cause; the count says how many there are.
pub const EXAMPLES_PER_CAUSE: usize = 5;
/// Causes listed in full; the rest are counted (every cause is in the metrics and the log).
pub const MAX_CAUSES: usize = 20;
/// SNS subjects are limited to 100 ASCII characters.
const MAX_SUBJECT: usize = 100;
/// What one example or reason may take in the message (keys are at most 1,024 bytes).
const MAX_FIELD: usize = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    pub subject: String,
    /// Plain text: e-mail subscribers and the default.
    pub body: String,
    /// The Amazon Q Developer custom notification (JSON), for `https` subscribers.
    pub chat: Option<String>,
    /// The findings as data (JSON), for `sqs` and `lambda` subscribers.
    pub data: Option<String>,
}

impl AlertMessage {
    /// A plain-text message, the same for every subscriber.
    pub fn text(subject: String, body: String) -> Self {
        Self {
            subject,
            body,
            chat: None,
            data: None,
        }
    }
}

/// What makes findings one cause: the verdict, S3's failure code or the auditor's own cause,
/// and the pair of buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cause {
    pub verdict: Verdict,
    /// S3's documented failure code, or the audit error's cause (`access_denied`, …).
    pub code: Option<String>,
    pub source_bucket: String,
    pub destination_bucket: Option<String>,
}

impl Cause {
    fn of(finding: &Finding) -> Self {
        let code = finding.detail.failure_reason.clone().or_else(|| {
            finding
                .detail
                .cause
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|v| v.as_str().map(String::from))
        });
        Self {
            verdict: finding.verdict,
            code,
            source_bucket: finding.source_bucket.clone(),
            destination_bucket: finding.destination_bucket.clone(),
        }
    }

    /// "40 objects FAILED to acme-reports-replica — DstPutObjectNotPermitted"
    fn headline(&self, count: u64) -> String {
        let noun = if count == 1 { "object" } else { "objects" };
        let verdict = self.verdict.as_str().to_uppercase().replace('_', " ");
        let place = match &self.destination_bucket {
            Some(destination) => format!("to {destination}"),
            None => format!("in {}", self.source_bucket),
        };
        plain(&match &self.code {
            Some(code) => format!("{count} {noun} {verdict} {place} — {code}"),
            None => format!("{count} {noun} {verdict} {place}"),
        })
    }

    /// One chat thread per bucket pair and cause: a storm is one thread.
    fn thread_id(&self) -> String {
        format!(
            "s3-replication/{}/{}/{}/{}",
            self.source_bucket,
            self.destination_bucket.as_deref().unwrap_or("none"),
            self.verdict.as_str(),
            self.code.as_deref().unwrap_or("-")
        )
    }
}

/// One cause of an invocation: its findings, and what earlier invocations held back.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub cause: Cause,
    pub findings: Vec<&'a Finding>,
    /// Findings of this cause not alerted since the last message about it (cool-down).
    pub held_back: u64,
}

impl Group<'_> {
    fn count(&self) -> u64 {
        self.findings.len() as u64
    }
}

/// The alarming findings grouped by cause, the largest group first.
pub fn group(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<Cause, usize> = HashMap::new();
    for finding in findings.iter().filter(|f| f.alarming) {
        let cause = Cause::of(finding);
        match index.get(&cause) {
            Some(&i) => groups[i].findings.push(finding),
            None => {
                index.insert(cause.clone(), groups.len());
                groups.push(Group {
                    cause,
                    findings: vec![finding],
                    held_back: 0,
                });
            }
        }
    }
    groups.sort_by(|a, b| b.count().cmp(&a.count()).then(a.cause.cmp(&b.cause)));
    groups
}

/// Per container: when each cause was last alerted, and what was held back since.
#[derive(Debug)]
pub struct AlertGate {
    cool_down: Duration,
    last: HashMap<Cause, (Instant, u64)>,
}

impl AlertGate {
    /// `cool_down` zero: every invocation alerts.
    pub fn new(cool_down: Duration) -> Self {
        Self {
            cool_down,
            last: HashMap::new(),
        }
    }

    /// The groups to alert now: a cause alerted less than the cool-down ago is held back (its
    /// count kept); one alerted again carries what was held back since.
    pub fn admit<'a>(&mut self, groups: Vec<Group<'a>>, now: Instant) -> Vec<Group<'a>> {
        let mut admitted = Vec::new();
        for mut group in groups {
            match self.last.get_mut(&group.cause) {
                Some((sent, held)) if now.duration_since(*sent) < self.cool_down => {
                    *held += group.count();
                }
                Some((sent, held)) => {
                    group.held_back = std::mem::take(held);
                    *sent = now;
                    admitted.push(group);
                }
                None => {
                    self.last.insert(group.cause.clone(), (now, 0));
                    admitted.push(group);
                }
            }
        }
        // Forget causes quiet for long (a container lives for hours at most; keep it small).
        let horizon = self
            .cool_down
            .saturating_mul(4)
            .max(Duration::from_secs(3600));
        self.last
            .retain(|_, (sent, held)| *held > 0 || now.duration_since(*sent) < horizon);
        admitted
    }
}

/// What all renderings of one message may take together: SNS takes 256 KB (262,144 bytes) per
/// publish, every protocol's variant included, and JSON escaping adds a little.
pub const MAX_MESSAGE_BYTES: usize = 200 * 1024;

/// The message for `groups` (already admitted), with the run's counts; `None` when empty.
/// Fewer causes are listed in full (the rest counted) until every rendering fits in SNS's
/// limit together.
pub fn compose(groups: &[Group<'_>], findings: &[Finding], keys: LogKeys) -> Option<AlertMessage> {
    let mut listed = MAX_CAUSES;
    loop {
        let message = compose_listing(groups, findings, keys, listed)?;
        let size = message.body.len() * 2
            + message.chat.as_ref().map_or(0, String::len)
            + message.data.as_ref().map_or(0, String::len) * 2;
        if size <= MAX_MESSAGE_BYTES || listed == 1 {
            return Some(message);
        }
        listed = (listed / 2).max(1);
    }
}

fn compose_listing(
    groups: &[Group<'_>],
    findings: &[Finding],
    keys: LogKeys,
    listed: usize,
) -> Option<AlertMessage> {
    let lead = groups.first()?;
    let total: u64 = groups.iter().map(Group::count).sum();
    let mut subject = format!("S3 replication: {}", lead.cause.headline(lead.count()));
    if groups.len() > 1 {
        subject.push_str(&format!(" (+{} more causes)", groups.len() - 1));
    }
    let subject = ascii_line(&subject);
    Some(AlertMessage {
        body: text_body(groups, findings, total, keys, listed),
        chat: Some(chat_body(&subject, groups, findings, keys, listed).to_string()),
        data: Some(data_body(&subject, groups, findings, keys, listed).to_string()),
        subject,
    })
}

fn text_body(
    groups: &[Group<'_>],
    findings: &[Finding],
    total: u64,
    keys: LogKeys,
    listed: usize,
) -> String {
    let noun = if total == 1 {
        "object needs"
    } else {
        "objects need"
    };
    let mut body = format!(
        "The replication audit found {total} {noun} attention, in {} cause(s).\n",
        groups.len()
    );
    for (index, group) in groups.iter().take(listed).enumerate() {
        let first = group.findings[0];
        body.push_str(&format!(
            "\n{}. {}\n",
            index + 1,
            group.cause.headline(group.count())
        ));
        if group.held_back > 0 {
            body.push_str(&format!(
                "   (+{} more since the last alert about it, held back by the cool-down)\n",
                group.held_back
            ));
        }
        body.push_str(&format!("   why: {}\n", plain(&first.detail.reason)));
        if let Some(fix) = &first.detail.remediation {
            body.push_str(&format!("   fix: {}\n", plain(fix)));
        }
        for example in group.findings.iter().take(EXAMPLES_PER_CAUSE) {
            body.push_str(&format!("   - {}\n", object_line(example, keys)));
        }
        if group.findings.len() > EXAMPLES_PER_CAUSE {
            body.push_str(&format!(
                "   - …and {} more\n",
                group.findings.len() - EXAMPLES_PER_CAUSE
            ));
        }
    }
    if groups.len() > listed {
        let rest = &groups[listed..];
        let objects: u64 = rest.iter().map(Group::count).sum();
        let held: u64 = rest.iter().map(|g| g.held_back).sum();
        body.push_str(&format!(
            "\n…and {} more causes, {objects} objects{} (the auditor's log lists every finding).\n",
            rest.len(),
            if held > 0 {
                format!(" (+{held} held back since their last alert)")
            } else {
                String::new()
            }
        ));
    }
    body.push_str(&format!("\nThis run: {}.\n", summary(findings)));
    if keys == LogKeys::Hash {
        body.push_str("Keys are shown as hashes (AUDITOR_LOG_KEYS=hash): `replication-auditor check` with the key finds its hash in the output.\n");
    }
    body.push_str("Sent by s3-replication-auditor.\n");
    body
}

/// An Amazon Q Developer in chat applications custom notification (admin guide, "Custom
/// notifications using Amazon Q Developer in chat applications"): version "1.0", source
/// "custom", markdown content, and a thread per bucket pair and cause.
fn chat_body(
    subject: &str,
    groups: &[Group<'_>],
    findings: &[Finding],
    keys: LogKeys,
    listed: usize,
) -> Value {
    let lead = &groups[0];
    let mut description = String::new();
    for group in groups.iter().take(listed) {
        description.push_str(&format!(
            "*{}*",
            markdown(&group.cause.headline(group.count()))
        ));
        if group.held_back > 0 {
            description.push_str(&format!(
                " (+{} held back since the last alert)",
                group.held_back
            ));
        }
        description.push('\n');
        for example in group.findings.iter().take(3) {
            description.push_str(&format!("• `{}`\n", code_span(&object_line(example, keys))));
        }
    }
    description.push_str(&format!("This run: {}.", summary(findings)));
    let next_steps: Vec<String> = groups
        .iter()
        .take(3)
        .filter_map(|g| g.findings[0].detail.remediation.as_deref())
        .map(markdown)
        .chain(std::iter::once(format!(
            "Check the setup: `replication-auditor doctor --source-bucket {}`",
            lead.cause.source_bucket
        )))
        .collect();
    let mut keywords: Vec<String> = vec![lead.cause.source_bucket.clone()];
    keywords.extend(lead.cause.destination_bucket.clone());
    keywords.push(lead.cause.verdict.as_str().to_string());
    keywords.extend(lead.cause.code.clone());
    json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!(":warning: {}", markdown(subject)),
            "description": truncate(&description, 8000),
            "nextSteps": next_steps.iter().map(|s| truncate(s, 350)).collect::<Vec<_>>(),
            "keywords": keywords.iter().map(|k| truncate(k, 75)).collect::<Vec<_>>(),
        },
        "metadata": {
            "threadId": lead.cause.thread_id(),
            "summary": subject,
            "eventType": "S3ReplicationAudit",
            "relatedResources": groups.iter().take(listed).flat_map(|g| {
                std::iter::once(format!("arn:aws:s3:::{}", g.cause.source_bucket))
                    .chain(g.cause.destination_bucket.iter().map(|d| format!("arn:aws:s3:::{d}")))
            }).collect::<std::collections::BTreeSet<_>>(),
        }
    })
}

/// The findings as data, for programs subscribed over SQS or Lambda.
fn data_body(
    subject: &str,
    groups: &[Group<'_>],
    findings: &[Finding],
    keys: LogKeys,
    listed: usize,
) -> Value {
    let causes: Vec<Value> = groups
        .iter()
        .take(listed)
        .map(|group| {
            let first = group.findings[0];
            json!({
                "verdict": group.cause.verdict,
                "code": group.cause.code,
                "source_bucket": group.cause.source_bucket,
                "destination_bucket": group.cause.destination_bucket,
                "count": group.count(),
                "held_back": group.held_back,
                "reason": truncate(&first.detail.reason, MAX_FIELD * 4),
                "fix": first.detail.remediation.as_deref().map(|f| truncate(f, MAX_FIELD * 4)),
                "examples": group.findings.iter().take(EXAMPLES_PER_CAUSE).map(|f| json!({
                    "bucket": f.source_bucket,
                    // Whole (S3 keys are at most 1,024 bytes): a program acts on it.
                    "key": keys.show(&f.key),
                    "version_id": f.version_id,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = Verdict::ALL
        .iter()
        .map(|v| {
            let n = findings.iter().filter(|f| f.verdict == *v).count();
            (v.as_str().to_string(), json!(n))
        })
        .filter(|(_, n)| n != &json!(0))
        .collect();
    json!({
        "subject": subject,
        "causes": causes,
        "causes_not_listed": groups.len().saturating_sub(listed),
        "held_back_not_listed": groups.iter().skip(listed).map(|g| g.held_back).sum::<u64>(),
        "counts": counts,
        "keys": if keys == LogKeys::Hash { "sha256" } else { "plain" },
    })
}

/// "acme-reports/monthly report.pdf (version v1)", or the key's hash.
fn object_line(finding: &Finding, keys: LogKeys) -> String {
    let mut line = format!(
        "{}/{}",
        finding.source_bucket,
        truncate(&plain(&keys.show(&finding.key)), MAX_FIELD)
    );
    if let Some(version) = &finding.version_id {
        line.push_str(&format!(" (version {})", plain(version)));
    }
    if finding.delete_marker {
        line.push_str(" (delete marker)");
    }
    line
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

/// Text from outside (a key may hold anything) as one line of printable characters.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The characters that make markdown links, emphasis or HTML escaped (bucket names' '-' and
/// '.' are left alone: chat clients show a backslash before them).
fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in plain(text).chars() {
        if "\\`*_[]()<>|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for a markdown code span: backticks cannot close it.
fn code_span(text: &str) -> String {
    plain(text).replace('`', "'")
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

fn ascii_line(text: &str) -> String {
    let line: String = text
        .replace('—', "-")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    truncate(&line, MAX_SUBJECT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Detail;

    fn finding(key: &str, verdict: Verdict, code: Option<&str>, destination: &str) -> Finding {
        let mut detail = Detail::new(format!(
            "S3 failed to replicate the object to {destination}: {}.",
            code.unwrap_or("-")
        ))
        .fix(format!("Fix the policy of {destination}."));
        detail.failure_reason = code.map(str::to_string);
        Finding {
            source_bucket: "acme-reports".into(),
            key: key.into(),
            version_id: Some("v1".into()),
            destination_bucket: Some(destination.into()),
            source_status: Some("FAILED".into()),
            verdict,
            alarming: verdict != Verdict::Replicated,
            delete_marker: false,
            detail,
            destination: None,
            age_seconds: None,
            lag_seconds: None,
        }
    }

    fn storm(n: usize, code: &str) -> Vec<Finding> {
        (0..n)
            .map(|i| {
                finding(
                    &format!("report {i}.pdf"),
                    Verdict::Failed,
                    Some(code),
                    "acme-reports-replica",
                )
            })
            .collect()
    }

    fn message(findings: &[Finding]) -> AlertMessage {
        compose(&group(findings), findings, LogKeys::Plain).unwrap()
    }

    #[test]
    fn nothing_alarming_sends_nothing() {
        let ok = [finding("a", Verdict::Replicated, None, "r")];
        assert!(compose(&group(&ok), &ok, LogKeys::Plain).is_none());
    }

    #[test]
    fn forty_failures_of_one_cause_name_the_code_and_the_fix_once_with_the_count() {
        let findings = storm(40, "DstPutObjectNotPermitted");
        let message = message(&findings);
        assert_eq!(
            message.subject,
            "S3 replication: 40 objects FAILED to acme-reports-replica - DstPutObjectNotPermitted"
        );
        assert_eq!(
            message
                .body
                .matches("Fix the policy of acme-reports-replica.")
                .count(),
            1
        );
        assert_eq!(
            message.body.matches("DstPutObjectNotPermitted").count(),
            2,
            "headline and why"
        );
        assert!(message.body.contains("…and 35 more"));
        assert!(message.body.contains("This run: failed 40."));
        assert!(message.body.len() < 4_000, "{} bytes", message.body.len());
    }

    #[test]
    fn two_causes_are_two_groups_with_their_counts_the_larger_first() {
        let mut findings = storm(3, "DstBucketNotFound");
        findings.extend(storm(7, "DstPutObjectNotPermitted"));
        findings.push(finding(
            "lost.png",
            Verdict::Missing,
            None,
            "acme-reports-replica",
        ));
        let message = message(&findings);
        assert!(
            message.subject.contains("7 objects FAILED")
                && message.subject.ends_with("(+2 more causes)")
        );
        let seven = message.body.find("7 objects FAILED").unwrap();
        let three = message.body.find("3 objects FAILED").unwrap();
        assert!(seven < three);
        assert!(message
            .body
            .contains("1 object MISSING to acme-reports-replica"));
    }

    #[test]
    fn any_batch_stays_well_under_snss_256_kb() {
        let mut findings = Vec::new();
        for cause in 0..200 {
            for i in 0..50 {
                let key = format!("{}{i}", "k".repeat(1000));
                findings.push(finding(
                    &key,
                    Verdict::Failed,
                    Some(&format!("Code{cause}")),
                    "d",
                ));
            }
        }
        let message = message(&findings);
        let published = crate::aws::alerts::per_protocol(&message).unwrap();
        assert!(published.len() < 256 * 1024, "{} bytes", published.len());
        assert!(message.body.contains("more causes"));
        assert!(message.subject.is_ascii() && message.subject.len() <= 100);
    }

    #[test]
    fn a_cause_within_the_cool_down_is_held_back_and_counted_in_the_next_alert() {
        let start = Instant::now();
        let mut gate = AlertGate::new(Duration::from_secs(600));
        let first = storm(4, "DstPutObjectNotPermitted");
        assert_eq!(gate.admit(group(&first), start).len(), 1);
        let again = storm(6, "DstPutObjectNotPermitted");
        assert!(gate
            .admit(group(&again), start + Duration::from_secs(60))
            .is_empty());
        // Another cause is not held back by the first one's cool-down.
        let other = storm(1, "DstBucketNotFound");
        assert_eq!(
            gate.admit(group(&other), start + Duration::from_secs(61))
                .len(),
            1
        );
        let later = storm(2, "DstPutObjectNotPermitted");
        let admitted = gate.admit(group(&later), start + Duration::from_secs(601));
        assert_eq!(admitted.len(), 1);
        assert_eq!(admitted[0].held_back, 6);
        let message = compose(&admitted, &later, LogKeys::Plain).unwrap();
        assert!(message.body.contains("+6 more since the last alert"));
    }

    #[test]
    fn the_chat_variant_is_a_custom_notification_with_one_thread_per_cause() {
        let findings = storm(2, "DstPutObjectNotPermitted");
        let chat: Value =
            serde_json::from_str(message(&findings).chat.as_deref().unwrap()).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert_eq!(
            chat["metadata"]["threadId"],
            "s3-replication/acme-reports/acme-reports-replica/failed/DstPutObjectNotPermitted"
        );
        assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    }

    #[test]
    fn keys_are_escaped_for_markdown_and_hashed_when_asked() {
        let findings = vec![finding(
            "[click](https://evil.example)*`x`",
            Verdict::Missing,
            None,
            "d",
        )];
        let chat = message(&findings).chat.unwrap();
        // The key is only ever inside a code span (markdown there is shown, not rendered),
        // and its own backticks cannot close the span.
        assert!(
            chat.contains("`acme-reports/[click](https://evil.example)*'x' (version v1)`"),
            "{chat}"
        );
        assert!(!chat.contains("`x`"), "{chat}");
        let hashed = compose(&group(&findings), &findings, LogKeys::Hash).unwrap();
        for body in [
            &hashed.body,
            hashed.chat.as_ref().unwrap(),
            hashed.data.as_ref().unwrap(),
        ] {
            assert!(!body.contains("evil.example"), "{body}");
            assert!(body.contains("sha256:"), "{body}");
        }
    }
}
