//! The scheduled drift check: live `doctor` run by the Lambda on a schedule (pure parts).
//!
//! The schedule (an EventBridge rule in `infra/auditor.yaml`) invokes the function with a
//! constant input `{"doctor": {"source_buckets": ["…"]}}`; without `source_buckets` the
//! configured `AUDITOR_SOURCE_BUCKETS` are checked. Per source bucket the run publishes
//! `SetupProblems` (FAIL lines plus reads that were refused: a blind doctor is a problem too), and
//! one alert names every failing check with its fix. No state is kept between runs: the alarm on
//! `SetupProblems` turns "still broken" into one page, the alert says what is wrong now.

use super::{Report, Status};
use crate::alert::AlertMessage;
use crate::metrics::{MetricDatum, Unit, SOURCE_BUCKET};
use serde_json::{json, Value};

pub use crate::metrics::SETUP_PROBLEMS;

/// A drift-check request; `None` from [`request`] means the payload is something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftCheck {
    pub source_buckets: Option<Vec<String>>,
}

/// Recognises the schedule's input: an object whose only key is `doctor`.
pub fn request(payload: &Value) -> Option<DriftCheck> {
    let map = payload.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let doctor = map.get("doctor")?;
    let source_buckets = doctor
        .get("source_buckets")
        .and_then(Value::as_array)
        .map(|buckets| {
            buckets
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        });
    Some(DriftCheck { source_buckets })
}

fn problems(report: &Report) -> usize {
    report.summary().fail + report.access_problems.len()
}

/// `SetupProblems` per source bucket (zeros included, so the alarm sees continuous data).
pub fn datums(results: &[(String, Report)]) -> Vec<MetricDatum> {
    results
        .iter()
        .map(|(bucket, report)| MetricDatum {
            name: SETUP_PROBLEMS,
            unit: Unit::Count,
            value: problems(report) as f64,
            dimensions: vec![(SOURCE_BUCKET, bucket.clone())],
        })
        .collect()
}

/// One message naming every failing check and refused read; `None` when all is well.
pub fn alert(results: &[(String, Report)]) -> Option<AlertMessage> {
    let broken: Vec<&(String, Report)> = results.iter().filter(|(_, r)| problems(r) > 0).collect();
    if broken.is_empty() {
        return None;
    }
    let total: usize = broken.iter().map(|(_, r)| problems(r)).sum();
    let place = match broken.as_slice() {
        [(bucket, _)] => bucket.clone(),
        many => format!("{} buckets", many.len()),
    };
    let subject: String = format!("S3 replication setup: {total} problem(s) in {place}")
        .chars()
        .filter(char::is_ascii)
        .take(100)
        .collect();
    let mut body = String::from(
        "The scheduled replication doctor found what stops or silently breaks replication.\n",
    );
    for (bucket, report) in broken {
        body.push_str(&format!("\n== {bucket} ==\n"));
        for check in report.checks.iter().filter(|c| c.status == Status::Fail) {
            body.push_str(&format!(
                "FAIL {} ({}): {}\n",
                check.name, check.subject, check.found
            ));
            if let Some(fix) = &check.fix {
                body.push_str(&format!("  fix:\n    {}\n", fix.replace('\n', "\n    ")));
            }
        }
        for problem in &report.access_problems {
            body.push_str(&format!("CANNOT READ: {problem}\n"));
        }
    }
    body.push_str(
        "\nRun `replication-auditor doctor --source-bucket BUCKET` for every line (PASS and WARN too).\n",
    );
    Some(AlertMessage::text(subject, body))
}

/// The invocation's response: per bucket, the summary and the failing checks.
pub fn response(results: &[(String, Report)]) -> Value {
    json!({
        "doctor": results.iter().map(|(bucket, report)| json!({
            "source_bucket": bucket,
            "summary": report.summary(),
            "setup_problems": problems(report),
            "failing": report.checks.iter().filter(|c| c.status == Status::Fail).collect::<Vec<_>>(),
            "access_problems": report.access_problems,
        })).collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Check;

    #[test]
    fn only_the_schedules_own_input_is_a_drift_check() {
        assert_eq!(
            request(&json!({"doctor": {"source_buckets": ["a", "b"]}})),
            Some(DriftCheck {
                source_buckets: Some(vec!["a".into(), "b".into()])
            })
        );
        assert_eq!(
            request(&json!({"doctor": {}})),
            Some(DriftCheck {
                source_buckets: None
            })
        );
        assert_eq!(request(&json!({"bucket": "a", "key": "k"})), None);
        assert_eq!(request(&json!({"Records": [], "doctor": {}})), None);
    }

    #[test]
    fn problems_count_fails_and_refused_reads_and_the_alert_names_them() {
        let healthy = Report {
            checks: vec![Check::pass("a", "b", "ok"), Check::warn("w", "b", "hmm")],
            access_problems: vec![],
        };
        let broken = Report {
            checks: vec![
                Check::fail("destination-policy.principal", "dst", "B's own id")
                    .with_fix("{\n  \"Effect\": \"Allow\"\n}"),
            ],
            access_problems: vec!["grant s3:GetBucketPolicy".into()],
        };
        let results = vec![("good".to_string(), healthy), ("bad".to_string(), broken)];
        let values: Vec<f64> = datums(&results).iter().map(|d| d.value).collect();
        assert_eq!(values, [0.0, 2.0]);
        let alert = alert(&results).unwrap();
        assert_eq!(alert.subject, "S3 replication setup: 2 problem(s) in bad");
        assert!(alert
            .body
            .contains("FAIL destination-policy.principal (dst): B's own id"));
        assert!(alert.body.contains("    \"Effect\": \"Allow\""));
        assert!(alert.body.contains("CANNOT READ: grant s3:GetBucketPolicy"));
        assert!(super::alert(&results[..1]).is_none());
        let lines = crate::metrics::emf_lines("NS", &datums(&results), 1);
        let line: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(line["SourceBucket"], "bad");
        assert_eq!(line["SetupProblems"], 2);
    }
}
