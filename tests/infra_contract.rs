//! The deployed templates and the README speak the auditor's language: every alarm and
//! dashboard metric in infra/auditor.yaml is one the auditor publishes, every alarming verdict
//! has an alarm, and every AUDITOR_* variable set there or documented in the README is one the
//! auditor reads. The Rust code is the source of truth.

use s3_replication_auditor::audit::Verdict;
use s3_replication_auditor::config::ALL_VARIABLES;
use s3_replication_auditor::metrics::metric_names;
use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// (resource type, properties text) per top-level resource of a CloudFormation YAML template.
fn resources(template: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_resources = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_resources = line.starts_with("Resources:");
            continue;
        }
        if !in_resources {
            continue;
        }
        if line.starts_with("  ")
            && !line.starts_with("   ")
            && line.trim_end().ends_with(':')
            && !line.trim().starts_with('#')
        {
            out.push((String::new(), Vec::new()));
        } else if let Some((kind, lines)) = out.last_mut() {
            if let Some(found) = line.strip_prefix("    Type: ") {
                *kind = found.trim().to_string();
            }
            lines.push(line.trim().to_string());
        }
    }
    out
}

fn property<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[test]
fn alarms_use_published_metric_names_and_cover_every_alarming_verdict() {
    let published: BTreeSet<&str> = metric_names().into_iter().collect();
    let template = read("infra/auditor.yaml");
    let mut alarmed = BTreeSet::new();
    for (kind, lines) in resources(&template) {
        if kind != "AWS::CloudWatch::Alarm"
            || property(&lines, "Namespace") != Some("!Ref MetricsNamespace")
        {
            continue;
        }
        let metric = property(&lines, "MetricName")
            .expect("alarm without MetricName")
            .to_string();
        assert!(
            published.contains(metric.as_str()),
            "alarm on {metric}, which the auditor never publishes"
        );
        alarmed.insert(metric);
    }
    for verdict in [
        Verdict::Failed,
        Verdict::Missing,
        Verdict::Mismatch,
        Verdict::Late,
        Verdict::Unreplicated,
        Verdict::Error,
    ] {
        assert!(
            alarmed.contains(verdict.metric_name()),
            "no alarm on {}",
            verdict.metric_name()
        );
    }
}

#[test]
fn dashboard_metrics_are_published_ones() {
    let template = read("infra/auditor.yaml");
    let mut checked = 0;
    let mut in_namespace = false;
    for line in template.lines().map(str::trim) {
        if line.starts_with("[\"${Namespace}\"") {
            in_namespace = true;
        } else if line.starts_with("[\"AWS/") {
            in_namespace = false;
        } else if !line.starts_with("[\".\"") {
            continue;
        }
        if !in_namespace {
            continue;
        }
        let name = line.split('"').nth(3).expect("metric name");
        assert!(
            metric_names().contains(&name),
            "dashboard shows {name}, which the auditor never publishes"
        );
        checked += 1;
    }
    assert!(checked >= 10, "found only {checked} dashboard metrics");
}

#[test]
fn every_auditor_variable_in_infra_and_readme_is_one_the_auditor_reads() {
    for file in ["infra/auditor.yaml", "README.md"] {
        let text = read(file);
        let used: BTreeSet<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("AUDITOR_") && word.len() > "AUDITOR_".len())
            .map(str::to_string)
            .collect();
        assert!(!used.is_empty(), "{file} names no AUDITOR_ variable");
        for variable in &used {
            assert!(
                ALL_VARIABLES.contains(&variable.as_str()),
                "{file} uses {variable}, which the auditor does not read"
            );
        }
    }
}

#[test]
fn readme_documents_every_variable_and_metric() {
    let readme = read("README.md");
    for variable in ALL_VARIABLES {
        assert!(
            readme.contains(&format!("`{variable}`")),
            "README's configuration table lacks {variable}"
        );
    }
    for metric in metric_names() {
        assert!(
            readme.contains(&format!("`{metric}`")),
            "README does not document the metric {metric}"
        );
    }
}
