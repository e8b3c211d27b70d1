//! The S3 Batch Operations `LambdaInvoke` response: one result per task, so that the job's
//! completion report *is* the audit report (S3 user guide, "S3 Batch Operations" → "Invoke
//! AWS Lambda function": `invocationSchemaVersion` and `invocationId` echoed,
//! `treatMissingKeysAs`, and per task `taskId`, `resultCode`, `resultString`).
//!
//! Pure: the handler hands over each task's outcome (its findings, or why it was not audited)
//! and gets the response back. Result codes:
//! - `TemporaryFailure` — what a later attempt may settle: `pending`, an audit error a retry
//!   may fix (throttled, network/5xx), an object the invocation ran out of time for. Batch
//!   Operations runs the task again.
//! - `PermanentFailure` — an alarming verdict (`failed`, `missing`, `late`, `unreplicated`
//!   covered by a rule, any other audit error), a malformed task, a task the auditor does not
//!   audit (bucket outside `AUDITOR_SOURCE_BUCKETS`), an object version that does not exist
//!   (`not_found`).
//! - `Succeeded` — every finding healthy (`replicated`, `replica`, `source_gone`, …).

use crate::audit::{Finding, ProbeErrorKind, Verdict};
use crate::event::BatchJob;
use serde::Serialize;

/// `resultString` is for a person reading the completion report: one short line.
pub const MAX_RESULT_STRING_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultCode {
    Succeeded,
    TemporaryFailure,
    PermanentFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: ResultCode,
    pub result_string: String,
}

/// The whole answer to one Batch Operations invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOperationsResponse {
    pub invocation_schema_version: String,
    /// A task missing from `results` has not been audited: never a success.
    pub treat_missing_keys_as: ResultCode,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}

/// What became of one task.
#[derive(Debug, Clone, Copy)]
pub enum TaskOutcome<'a> {
    /// Malformed: the reason.
    Rejected(&'a str),
    /// Deliberately not audited: the reason.
    Skipped(&'a str),
    /// Audited: one finding per destination; `reached` is false when the invocation ran out
    /// of time first.
    Audited {
        findings: &'a [Finding],
        reached: bool,
    },
}

impl BatchOperationsResponse {
    pub fn new(job: &BatchJob, results: Vec<TaskResult>) -> Self {
        Self {
            invocation_schema_version: job.schema_version.clone(),
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: job.invocation_id.clone(),
            results,
        }
    }
}

/// The result for one task.
pub fn task_result(task_id: &str, outcome: TaskOutcome<'_>) -> TaskResult {
    let (result_code, text) = match outcome {
        TaskOutcome::Rejected(why) => (ResultCode::PermanentFailure, format!("rejected: {why}")),
        TaskOutcome::Skipped(why) => (ResultCode::PermanentFailure, format!("not audited: {why}")),
        TaskOutcome::Audited { findings, reached } => {
            let code = if !reached {
                ResultCode::TemporaryFailure
            } else if findings
                .iter()
                .any(|f| (f.alarming && !retry_may_fix(f)) || f.verdict == Verdict::NotFound)
            {
                // The manifest names an object version that is not there: no retry finds it.
                ResultCode::PermanentFailure
            } else if findings.iter().any(retry_may_fix) {
                ResultCode::TemporaryFailure
            } else {
                ResultCode::Succeeded
            };
            let text = findings.iter().map(describe).collect::<Vec<_>>().join("; ");
            (code, text)
        }
    };
    TaskResult {
        task_id: task_id.to_string(),
        result_code,
        result_string: shorten(text, MAX_RESULT_STRING_BYTES),
    }
}

/// `pending`, or an audit error whose cause is passing (throttling, network, 5xx).
/// What S3 Batch Operations settles by running the task again (`TemporaryFailure`).
pub fn retry_may_fix(finding: &Finding) -> bool {
    match finding.verdict {
        Verdict::Pending => true,
        Verdict::Error => matches!(
            finding.detail.cause,
            Some(
                ProbeErrorKind::Throttled | ProbeErrorKind::Transient | ProbeErrorKind::Unreachable
            )
        ),
        _ => false,
    }
}

/// `failed in acme-reports-replica: S3 failed to replicate the object: …`.
fn describe(finding: &Finding) -> String {
    match &finding.destination_bucket {
        Some(destination) => format!(
            "{} in {destination}: {}",
            finding.verdict, finding.detail.reason
        ),
        None => format!("{}: {}", finding.verdict, finding.detail.reason),
    }
}

/// Cuts `text` to at most `limit` bytes on a character boundary, marking the cut with `…`.
fn shorten(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Detail;

    fn finding(verdict: Verdict, alarming: bool, cause: Option<ProbeErrorKind>) -> Finding {
        let mut detail = Detail::new("why");
        detail.cause = cause;
        Finding {
            source_bucket: "src".into(),
            key: "k".into(),
            version_id: None,
            destination_bucket: Some("dst".into()),
            source_status: None,
            verdict,
            alarming,
            delete_marker: false,
            detail,
            destination: None,
            age_seconds: None,
            lag_seconds: None,
        }
    }

    fn code(findings: &[Finding], reached: bool) -> ResultCode {
        task_result("t", TaskOutcome::Audited { findings, reached }).result_code
    }

    #[test]
    fn healthy_findings_succeed_with_the_verdict_as_result_string() {
        let result = task_result(
            "t",
            TaskOutcome::Audited {
                findings: &[finding(Verdict::Replicated, false, None)],
                reached: true,
            },
        );
        assert_eq!(result.result_code, ResultCode::Succeeded);
        assert_eq!(result.result_string, "replicated in dst: why");
    }

    #[test]
    fn what_a_retry_may_settle_is_a_temporary_failure() {
        use ProbeErrorKind::*;
        assert_eq!(
            code(&[finding(Verdict::Pending, false, None)], true),
            ResultCode::TemporaryFailure
        );
        for cause in [Throttled, Transient] {
            assert_eq!(
                code(&[finding(Verdict::Error, true, Some(cause))], true),
                ResultCode::TemporaryFailure
            );
        }
        assert_eq!(
            code(&[finding(Verdict::Error, true, None)], false),
            ResultCode::TemporaryFailure
        );
    }

    #[test]
    fn alarming_verdicts_are_permanent_failures_even_beside_a_pending_destination() {
        assert_eq!(
            code(&[finding(Verdict::Failed, true, None)], true),
            ResultCode::PermanentFailure
        );
        assert_eq!(
            code(
                &[
                    finding(Verdict::Pending, false, None),
                    finding(Verdict::Missing, true, None)
                ],
                true
            ),
            ResultCode::PermanentFailure
        );
        assert_eq!(
            code(
                &[finding(
                    Verdict::Error,
                    true,
                    Some(ProbeErrorKind::AccessDenied)
                )],
                true
            ),
            ResultCode::PermanentFailure
        );
    }

    #[test]
    fn rejected_and_skipped_tasks_are_permanent_failures_and_strings_stay_short() {
        let rejected = task_result("t", TaskOutcome::Rejected("no s3Key"));
        assert_eq!(rejected.result_code, ResultCode::PermanentFailure);
        assert_eq!(rejected.result_string, "rejected: no s3Key");
        let long = "é".repeat(600);
        let skipped = task_result("t", TaskOutcome::Skipped(&long));
        assert!(skipped.result_string.len() <= MAX_RESULT_STRING_BYTES);
        assert!(skipped.result_string.ends_with('…'));
    }
}
