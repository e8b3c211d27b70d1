//! What `reconcile` found, and its table for people.

use crate::audit::{Finding, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// Findings kept for the report; the counts and the re-drive manifest are always complete.
pub const MAX_REPORTED_FINDINGS: usize = 1000;

/// What `reconcile` found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source_bucket: String,
    pub destination_bucket: String,
    /// Findings per verdict, every verdict present.
    pub counts: BTreeMap<&'static str, u64>,
    pub rows: RowCounts,
    /// The first alarming findings (at most [`MAX_REPORTED_FINDINGS`]).
    pub findings: Vec<Finding>,
    pub findings_truncated: bool,
    /// Alarming findings in all (the exit code).
    pub alarming: u64,
    pub join: JoinInfo,
    pub rules: String,
    pub redrive: Option<Redrive>,
    /// How the counts were published (`--metrics`), if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::metrics::Delivery>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RowCounts {
    pub source: u64,
    pub destination: u64,
    /// Destination rows with no source row that are not replicas (written there directly).
    pub destination_only: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JoinInfo {
    pub partitions: u64,
    pub spilled: bool,
    pub memory_budget_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Redrive {
    pub path: String,
    pub objects: u64,
}

impl Outcome {
    pub fn is_alarming(&self) -> bool {
        self.alarming > 0
    }

    /// The counts as the metrics of one (source, destination) pair, as an invocation has them.
    pub fn pair_metrics(&self) -> crate::metrics::PairMetrics {
        let counts: Vec<(Verdict, u64)> = Verdict::ALL
            .iter()
            .map(|v| (*v, self.counts.get(v.as_str()).copied().unwrap_or(0)))
            .collect();
        crate::metrics::PairMetrics {
            source_bucket: self.source_bucket.clone(),
            destination_bucket: self.destination_bucket.clone(),
            audited: counts.iter().map(|(_, n)| n).sum(),
            counts,
            retried: 0,
            lag_seconds: None,
        }
    }

    pub fn to_table(&self) -> String {
        let mut out = format!(
            "reconcile s3://{} -> s3://{}: {} source rows, {} destination rows\n",
            self.source_bucket, self.destination_bucket, self.rows.source, self.rows.destination
        );
        let rows: Vec<Vec<String>> = self
            .findings
            .iter()
            .take(50)
            .map(|f| {
                vec![
                    f.verdict.as_str().to_string(),
                    format!("s3://{}/{}", f.source_bucket, f.key),
                    f.version_id.clone().unwrap_or_else(|| "-".into()),
                    f.detail.reason.clone(),
                ]
            })
            .collect();
        for line in crate::table::aligned(&rows) {
            out.push_str(&line);
            out.push('\n');
        }
        if self.findings.len() > 50 || self.findings_truncated {
            out.push_str("... more alarming findings: see --output json and the counts\n");
        }
        let counts = crate::table::counts(self.counts.iter().map(|(v, n)| (*v, *n)));
        out.push_str(&format!("counts: {}\n", counts.unwrap_or_default()));
        out.push_str(&format!("rules: {}\n", self.rules));
        if let Some(redrive) = &self.redrive {
            out.push_str(&format!(
                "re-drive manifest: {} ({} objects; S3 Batch Replication CSV)\n",
                redrive.path, redrive.objects
            ));
        }
        if let Some(delivery) = self.metrics {
            out.push_str(&format!("metrics: {delivery:?}\n"));
        }
        out
    }
}
