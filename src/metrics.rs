//! Metrics as data (pure): findings → CloudWatch datapoints, and the one Embedded Metric Format
//! writer that turns any datapoints into EMF lines; `ports::deliver` sends them the one way
//! every command does (PutMetricData, EMF, or nothing).
//!
//! Per (SourceBucket, DestinationBucket) pair seen in an invocation: `ObjectsAudited`, one
//! count per verdict (zeros included, so dashboards and alarms see continuous data),
//! `AuditRetries` (audit errors SQS delivers again: counted, not alarmed — only an error on the
//! last delivery counts as `AuditErrors`) and `ReplicationLag` (seconds, only from S3's own
//! `replicationTime` on threshold events; replica and source share Last-Modified, so nothing
//! else measures a lag).
//! Each datapoint is also emitted with `SourceBucket` alone, the roll-up the shipped alarms
//! watch (an unreplicated object may have no destination at all).

use crate::audit::{Finding, Verdict};
use serde::Serialize;
use serde_json::{json, Map, Value};

pub const OBJECTS_AUDITED: &str = "ObjectsAudited";
pub const REPLICATION_LAG: &str = "ReplicationLag";
pub const AUDIT_RETRIES: &str = "AuditRetries";
/// The scheduled drift check's count of FAIL lines and refused reads per source bucket.
pub const SETUP_PROBLEMS: &str = "SetupProblems";
pub const SOURCE_BUCKET: &str = "SourceBucket";
pub const DESTINATION_BUCKET: &str = "DestinationBucket";
/// Dimension value when a finding has no destination (e.g. no rule covers the key).
pub const NO_DESTINATION: &str = "none";
/// PutMetricData accepts at most this many datapoints per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// Every metric name the auditor publishes (infra alarms are checked against this list).
pub fn metric_names() -> Vec<&'static str> {
    let mut names = vec![
        OBJECTS_AUDITED,
        REPLICATION_LAG,
        AUDIT_RETRIES,
        SETUP_PROBLEMS,
    ];
    names.extend(Verdict::ALL.iter().map(|v| v.metric_name()));
    names
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
    pub dimensions: Vec<(&'static str, String)>,
}

/// Pair totals for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct PairMetrics {
    pub source_bucket: String,
    pub destination_bucket: String,
    pub audited: u64,
    pub counts: Vec<(Verdict, u64)>,
    /// `error` findings that SQS delivers again (not in `counts`).
    pub retried: u64,
    pub lag_seconds: Option<f64>,
}

/// Groups findings per (source, destination), in first-seen order.
pub fn aggregate(findings: &[Finding]) -> Vec<PairMetrics> {
    let mut pairs: Vec<PairMetrics> = Vec::new();
    for finding in findings {
        let destination = finding
            .destination_bucket
            .clone()
            .unwrap_or_else(|| NO_DESTINATION.to_string());
        let index = match pairs.iter().position(|p| {
            p.source_bucket == finding.source_bucket && p.destination_bucket == destination
        }) {
            Some(index) => index,
            None => {
                pairs.push(PairMetrics {
                    source_bucket: finding.source_bucket.clone(),
                    destination_bucket: destination,
                    audited: 0,
                    counts: Verdict::ALL.iter().map(|v| (*v, 0)).collect(),
                    retried: 0,
                    lag_seconds: None,
                });
                pairs.len() - 1
            }
        };
        let pair = &mut pairs[index];
        pair.audited += 1;
        if finding.detail.retried {
            pair.retried += 1;
        } else if let Some(count) = pair.counts.iter_mut().find(|(v, _)| *v == finding.verdict) {
            count.1 += 1;
        }
        if let Some(lag) = finding.lag_seconds {
            pair.lag_seconds = Some(
                pair.lag_seconds
                    .map_or(lag, |current: f64| current.max(lag)),
            );
        }
    }
    pairs
}

/// CloudWatch datapoints: each pair's values with both dimension sets.
pub fn datums(pairs: &[PairMetrics]) -> Vec<MetricDatum> {
    let mut out = Vec::new();
    for pair in pairs {
        let both = vec![
            (SOURCE_BUCKET, pair.source_bucket.clone()),
            (DESTINATION_BUCKET, pair.destination_bucket.clone()),
        ];
        let source_only = vec![(SOURCE_BUCKET, pair.source_bucket.clone())];
        for dimensions in [both, source_only] {
            out.push(MetricDatum {
                name: OBJECTS_AUDITED,
                unit: Unit::Count,
                value: pair.audited as f64,
                dimensions: dimensions.clone(),
            });
            for (verdict, count) in &pair.counts {
                out.push(MetricDatum {
                    name: verdict.metric_name(),
                    unit: Unit::Count,
                    value: *count as f64,
                    dimensions: dimensions.clone(),
                });
            }
            out.push(MetricDatum {
                name: AUDIT_RETRIES,
                unit: Unit::Count,
                value: pair.retried as f64,
                dimensions: dimensions.clone(),
            });
            if let Some(lag) = pair.lag_seconds {
                out.push(MetricDatum {
                    name: REPLICATION_LAG,
                    unit: Unit::Seconds,
                    value: lag,
                    dimensions: dimensions.clone(),
                });
            }
        }
    }
    out
}

/// Embedded Metric Format lines for `data` (CloudWatch user guide, "Specification: Embedded
/// metric format"): the datapoints grouped by their dimensions, in first-seen order; a group
/// whose dimensions are a subset of an earlier one's with the same values (the `SourceBucket`
/// roll-up of a pair) rides on that line as a second dimension set, as CloudWatch Logs reads
/// it. CloudWatch Logs turns them into the same metrics PutMetricData would.
pub fn emf_lines(namespace: &str, data: &[MetricDatum], timestamp_ms: i64) -> Vec<String> {
    type Dimensions<'a> = &'a [(&'static str, String)];
    // Runs of consecutive datapoints with the same dimensions: one pair's values, then its
    // roll-up. Two pairs of one source stay two lines (CloudWatch sums them), never one line
    // whose values overwrite each other.
    let mut groups: Vec<(Dimensions<'_>, Vec<&MetricDatum>)> = Vec::new();
    for datum in data {
        match groups.last_mut() {
            Some((d, members)) if *d == datum.dimensions.as_slice() => members.push(datum),
            _ => groups.push((datum.dimensions.as_slice(), vec![datum])),
        }
    }
    let same_values = |a: &[&MetricDatum], b: &[&MetricDatum]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.name == y.name && x.unit == y.unit && x.value == y.value)
    };
    // Each line: the dimensions it carries, the dimension sets it names, its datapoints.
    type Line<'a> = (Dimensions<'a>, Vec<Vec<&'a str>>, Vec<&'a MetricDatum>);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (dimensions, members) in groups {
        // Only on the line just before it: the roll-up of the pair written last.
        let rides_on = lines.last_mut().filter(|(wider, _, values)| {
            dimensions.iter().all(|d| wider.contains(d)) && same_values(values, &members)
        });
        let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
        match rides_on {
            Some((_, sets, _)) => sets.push(names),
            None => lines.push((dimensions, vec![names], members)),
        }
    }
    lines
        .into_iter()
        .map(|(dimensions, sets, members)| {
            let mut line = Map::new();
            for (name, value) in dimensions {
                line.insert((*name).into(), Value::from(value.clone()));
            }
            let mut definitions = Vec::new();
            for datum in &members {
                definitions.push(json!({"Name": datum.name, "Unit": datum.unit.as_str()}));
                let value = if datum.value.fract() == 0.0 && datum.unit == Unit::Count {
                    Value::from(datum.value as i64)
                } else {
                    Value::from(datum.value)
                };
                line.insert(datum.name.into(), value);
            }
            line.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": sets,
                        "Metrics": definitions,
                    }]
                }),
            );
            Value::Object(line).to_string()
        })
        .collect()
}

/// Where Embedded Metric Format lines go: stdout inside Lambda (CloudWatch Logs reads it),
/// stderr for a command whose stdout is its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmfOutput {
    Stdout,
    Stderr,
}

/// How the metrics left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    PutMetricData,
    Emf,
    Off,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Detail;

    fn finding(dest: Option<&str>, verdict: Verdict, lag: Option<f64>) -> Finding {
        Finding {
            source_bucket: "src".into(),
            key: "k".into(),
            version_id: None,
            destination_bucket: dest.map(str::to_string),
            source_status: None,
            verdict,
            alarming: false,
            delete_marker: false,
            detail: Detail::new("x"),
            destination: None,
            age_seconds: Some(3.0),
            lag_seconds: lag,
        }
    }

    #[test]
    fn counts_per_pair_and_verdict_with_max_lag() {
        let findings = vec![
            finding(Some("dst"), Verdict::Replicated, Some(2.0)),
            finding(Some("dst"), Verdict::Replicated, Some(7.0)),
            finding(Some("dst"), Verdict::Missing, None),
            finding(None, Verdict::Unreplicated, None),
        ];
        let pairs = aggregate(&findings);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].audited, 3);
        assert!(pairs[0].counts.contains(&(Verdict::Replicated, 2)));
        assert!(pairs[0].counts.contains(&(Verdict::Missing, 1)));
        assert_eq!(pairs[0].lag_seconds, Some(7.0));
        assert_eq!(pairs[1].destination_bucket, NO_DESTINATION);
    }

    #[test]
    fn every_pair_yields_both_dimension_sets() {
        let pairs = aggregate(&[finding(Some("dst"), Verdict::Failed, None)]);
        let data = datums(&pairs);
        // ObjectsAudited + 12 verdicts + AuditRetries, twice (no lag for a failed object)
        assert_eq!(data.len(), 28);
        let failed: Vec<_> = data.iter().filter(|d| d.name == "Failed").collect();
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|d| d.value == 1.0));
        assert_eq!(
            failed[1].dimensions,
            vec![(SOURCE_BUCKET, "src".to_string())]
        );
    }

    #[test]
    fn emf_lines_are_valid_json_with_the_namespace_and_no_lag_from_ages() {
        let pairs = aggregate(&[finding(Some("dst"), Verdict::Late, None)]);
        let lines = emf_lines("NS", &datums(&pairs), 1);
        assert_eq!(lines.len(), 1, "the roll-up rides on the pair's line");
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "NS");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["SourceBucket", "DestinationBucket"], ["SourceBucket"]])
        );
        assert_eq!(line["Late"], 1);
        assert!(line.get("ReplicationLag").is_none(), "an age is not a lag");
    }

    #[test]
    fn two_destinations_of_one_source_are_two_lines_that_sum_in_the_roll_up() {
        let pairs = aggregate(&[
            finding(Some("dst-a"), Verdict::Failed, None),
            finding(Some("dst-b"), Verdict::Replicated, None),
        ]);
        let lines: Vec<Value> = emf_lines("NS", &datums(&pairs), 1)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let failed: Vec<i64> = lines
            .iter()
            .map(|l| l["Failed"].as_i64().unwrap())
            .collect();
        assert_eq!(failed, [1, 0], "each line its own pair's values");
        for line in &lines {
            assert_eq!(
                line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                json!([["SourceBucket", "DestinationBucket"], ["SourceBucket"]])
            );
            let names = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap();
            let mut unique: Vec<&Value> = names.iter().map(|m| &m["Name"]).collect();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "no metric named twice");
        }
    }

    #[test]
    fn errors_sqs_retries_count_as_retries_not_audit_errors() {
        let mut retried = finding(Some("dst"), Verdict::Error, None);
        retried.detail.retried = true;
        let pairs = aggregate(&[retried, finding(Some("dst"), Verdict::Error, None)]);
        assert_eq!(pairs[0].retried, 1);
        assert!(pairs[0].counts.contains(&(Verdict::Error, 1)));
    }

    #[test]
    fn metric_names_cover_every_verdict() {
        let names = metric_names();
        assert!(names.contains(&"AuditErrors"));
        assert!(names.contains(&"SourceGone"));
        // ObjectsAudited, ReplicationLag, AuditRetries, SetupProblems (the drift check) and
        // the 12 verdicts.
        assert!(names.contains(&"SetupProblems"));
        assert_eq!(names.len(), 16);
    }
}
