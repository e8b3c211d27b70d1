//! The handler's response (a contract other tools read) and its table rendering for people.

use crate::audit::{Finding, Verdict};
use aws_lambda_events::sqs::BatchItemFailure;
use serde::Serialize;
use std::collections::BTreeMap;

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
        }
    }

    /// Something a person must act on: an alarming finding or a malformed record.
    pub fn is_alarming(&self) -> bool {
        self.findings.iter().any(|f| f.alarming) || !self.rejected.is_empty()
    }

    /// A plain-text table: one line per finding, then skips, rejections and counts.
    pub fn to_table(&self) -> String {
        let mut rows = vec![[
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
            rows.push([
                f.verdict.as_str().to_string(),
                format!("s3://{}/{}", f.source_bucket, f.key),
                f.version_id.clone().unwrap_or_else(|| "-".into()),
                f.destination_bucket.clone().unwrap_or_else(|| "-".into()),
                detail,
            ]);
        }
        let widths: Vec<usize> = (0..4)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            for (c, width) in widths.iter().enumerate() {
                out.push_str(&row[c]);
                out.push_str(&" ".repeat(width - row[c].chars().count() + 2));
            }
            out.push_str(&row[4]);
            out.push('\n');
        }
        for skip in &self.skipped {
            out.push_str(&format!("skipped   {}: {}\n", skip.origin, skip.reason));
        }
        for reject in &self.rejected {
            out.push_str(&format!("rejected  {}: {}\n", reject.origin, reject.error));
        }
        let counts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        out.push_str(&format!(
            "counts: {}\n",
            if counts.is_empty() {
                "nothing audited".to_string()
            } else {
                counts.join(", ")
            }
        ));
        out
    }
}
