//! The handler's response (a contract other tools read) and its table rendering for people.
//! For S3 Batch Operations the response Lambda returns is the Batch Operations shape
//! ([`crate::batch_operations`]); the report is still what the CLI's table shows.

use crate::audit::{Finding, Verdict};
use crate::batch_operations::BatchOperationsResponse;
use aws_lambda_events::sqs::BatchItemFailure;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Lambda refuses a synchronous invocation's response above 6 MB (Lambda quotas: "Invocation
/// payload (request and response): 6 MB each for synchronous"), after the work is done.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Room kept for the truncation note and JSON punctuation.
const RESPONSE_MARGIN: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub origin: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub origin: String,
    pub message_id: Option<String>,
    pub error: String,
}

/// `{"findings", "counts", "skipped", "rejected", "batchItemFailures"?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Findings per verdict; every verdict is present (zero when none).
    pub counts: BTreeMap<&'static str, u64>,
    pub skipped: Vec<Skipped>,
    pub rejected: Vec<Rejected>,
    /// SQS partial batch response; present only for SQS triggers.
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
    /// S3 Batch Operations: the response Lambda returns instead of the report.
    #[serde(skip)]
    pub batch_operations: Option<BatchOperationsResponse>,
}

impl Report {
    pub fn new(
        findings: Vec<Finding>,
        skipped: Vec<Skipped>,
        rejected: Vec<Rejected>,
        batch_item_failures: Option<Vec<BatchItemFailure>>,
    ) -> Self {
        let mut counts: BTreeMap<&'static str, u64> =
            Verdict::ALL.iter().map(|v| (v.as_str(), 0)).collect();
        for finding in &findings {
            *counts.entry(finding.verdict.as_str()).or_default() += 1;
        }
        Self {
            findings,
            counts,
            skipped,
            rejected,
            batch_item_failures,
            batch_operations: None,
        }
    }

    /// The response as Lambda will carry it: for S3 Batch Operations its response shape; else
    /// the whole report when it fits in `limit` bytes;
    /// else the counts, every `batchItemFailures` entry (SQS needs all of them), the rejections,
    /// as many alarming findings as fit, and a `truncated` note saying what was left out.
    pub fn to_response(&self, limit: usize) -> Result<Value, serde_json::Error> {
        // One result per task, each short: Batch Operations sends one task per invocation.
        if let Some(response) = &self.batch_operations {
            return serde_json::to_value(response);
        }
        let full = serde_json::to_value(self)?;
        if serde_json::to_vec(&full)?.len() <= limit {
            return Ok(full);
        }
        let mut response = json!({
            "counts": self.counts,
            "rejected": self.rejected,
            "skipped_count": self.skipped.len(),
        });
        if let Some(failures) = &self.batch_item_failures {
            response["batchItemFailures"] = serde_json::to_value(failures)?;
        }
        let mut size = serde_json::to_vec(&response)?.len();
        let mut kept = Vec::new();
        for finding in self.findings.iter().filter(|f| f.alarming) {
            let value = serde_json::to_value(finding)?;
            let length = serde_json::to_vec(&value)?.len() + 1;
            if size + length > limit.saturating_sub(RESPONSE_MARGIN) {
                break;
            }
            size += length;
            kept.push(value);
        }
        let alarming = self.findings.iter().filter(|f| f.alarming).count();
        response["truncated"] = json!({
            "findings_total": self.findings.len(),
            "alarming_total": alarming,
            "findings_included": kept.len(),
            "note": format!(
                "The full report is larger than Lambda's {} MB response limit: counts, batchItemFailures and rejections are complete; {} of {} alarming findings are included and no healthy ones. Every finding is in this invocation's log and metrics; audit fewer objects per invocation for full responses.",
                limit / (1024 * 1024),
                kept.len(),
                alarming
            ),
        });
        response["findings"] = Value::Array(kept);
        Ok(response)
    }

    /// Something a person must act on: an alarming finding or a malformed record.
    pub fn is_alarming(&self) -> bool {
        self.findings.iter().any(|f| f.alarming) || !self.rejected.is_empty()
    }

    /// A plain-text table: one line per finding, then skips, rejections and counts.
    pub fn to_table(&self) -> String {
        let mut rows = vec![vec![
            "VERDICT".to_string(),
            "OBJECT".to_string(),
            "VERSION".to_string(),
            "DESTINATION".to_string(),
            "DETAIL".to_string(),
        ]];
        for f in &self.findings {
            let mut detail = f.detail.reason.clone();
            if let Some(fix) = &f.detail.remediation {
                if f.alarming {
                    detail.push_str(" Fix: ");
                    detail.push_str(fix);
                }
            }
            rows.push(vec![
                f.verdict.as_str().to_string(),
                format!("s3://{}/{}", f.source_bucket, f.key),
                f.version_id.clone().unwrap_or_else(|| "-".into()),
                f.destination_bucket.clone().unwrap_or_else(|| "-".into()),
                detail,
            ]);
        }
        let mut out = String::new();
        for line in crate::table::aligned(&rows) {
            out.push_str(&line);
            out.push('\n');
        }
        for skip in &self.skipped {
            out.push_str(&format!("skipped   {}: {}\n", skip.origin, skip.reason));
        }
        for reject in &self.rejected {
            out.push_str(&format!("rejected  {}: {}\n", reject.origin, reject.error));
        }
        let counts = crate::table::counts(self.counts.iter().map(|(v, n)| (&**v, *n)));
        out.push_str(&format!(
            "counts: {}\n",
            counts.as_deref().unwrap_or("nothing audited")
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Detail;

    fn finding(key: &str, verdict: Verdict, alarming: bool) -> Finding {
        Finding {
            source_bucket: "src".into(),
            key: key.into(),
            version_id: Some("v".repeat(32)),
            destination_bucket: Some("dst".into()),
            source_status: Some("COMPLETED".into()),
            verdict,
            alarming,
            delete_marker: false,
            detail: Detail::new("x".repeat(200)),
            destination: None,
            age_seconds: None,
            lag_seconds: None,
        }
    }

    #[test]
    fn a_small_report_is_answered_whole() {
        let report = Report::new(
            vec![finding("a", Verdict::Replicated, false)],
            vec![],
            vec![],
            None,
        );
        let response = report.to_response(MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(response, serde_json::to_value(&report).unwrap());
        assert!(response.get("truncated").is_none());
    }

    #[test]
    fn a_report_too_large_for_lambda_keeps_counts_retries_and_alarming_findings_first() {
        let mut findings: Vec<Finding> = (0..2000)
            .map(|i| finding(&format!("ok/{i}"), Verdict::Replicated, false))
            .collect();
        findings.extend((0..300).map(|i| finding(&format!("bad/{i}"), Verdict::Missing, true)));
        let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
        response.add_failure("m1");
        let report = Report::new(findings, vec![], vec![], Some(response.batch_item_failures));
        let limit = 200 * 1024;
        let response = report.to_response(limit).unwrap();
        assert!(serde_json::to_vec(&response).unwrap().len() <= limit);
        assert_eq!(response["counts"]["replicated"], 2000);
        assert_eq!(response["counts"]["missing"], 300);
        assert_eq!(response["batchItemFailures"][0]["itemIdentifier"], "m1");
        let kept = response["findings"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.iter().all(|f| f["alarming"] == true));
        assert_eq!(response["truncated"]["findings_total"], 2300);
        assert_eq!(response["truncated"]["findings_included"], kept.len());
    }
}
