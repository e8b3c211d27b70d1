//! The scheduled drift check (an EventBridge schedule invoking the function): live `doctor` on
//! each watched source bucket, `SetupProblems` per bucket, one SNS alert naming every failing
//! check.

use super::doctor::Reader;
use crate::config::Config;
use crate::doctor::schedule::{self, DriftCheck};
use crate::metrics::EmfOutput;
use crate::ports::{AlertPublisher, MetricsPublisher};
use aws_config::BehaviorVersion;

#[derive(Debug, thiserror::Error)]
pub enum DriftCheckError {
    #[error(
        "the drift check names no source bucket: give {{\"doctor\": {{\"source_buckets\": [\"BUCKET\"]}}}} as the schedule's input or set AUDITOR_SOURCE_BUCKETS"
    )]
    NoSourceBuckets,
}

/// The scheduled drift check: live doctor on each source bucket, `SetupProblems` per bucket
/// (as the configured metrics mode says), one SNS alert naming every failing check.
pub async fn drift_check(
    config: &Config,
    request: &DriftCheck,
    metrics: &impl MetricsPublisher,
    alerts: &impl AlertPublisher,
    emf_output: EmfOutput,
) -> Result<serde_json::Value, DriftCheckError> {
    // The schedule's input may narrow AUDITOR_SOURCE_BUCKETS, never widen it: a bucket the
    // auditor does not watch is not read (the input is anyone's who can edit the schedule).
    let buckets: Vec<String> = match (&request.source_buckets, &config.source_buckets) {
        (Some(asked), Some(watched)) => {
            for outside in asked.iter().filter(|b| !watched.contains(b)) {
                tracing::warn!(bucket = %outside, "the drift check's input names a bucket outside AUDITOR_SOURCE_BUCKETS: not read");
            }
            asked
                .iter()
                .filter(|b| watched.contains(b))
                .cloned()
                .collect()
        }
        (Some(asked), None) => asked.clone(),
        (None, watched) => watched.clone().unwrap_or_default(),
    };
    if buckets.is_empty() {
        return Err(DriftCheckError::NoSourceBuckets);
    }
    let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let reader = Reader::new(&base, config).await;
    let mut results = Vec::new();
    for bucket in buckets {
        let report = crate::doctor::live::judge(&reader.read(&bucket).await);
        let summary = report.summary();
        tracing::info!(
            source_bucket = %bucket,
            fail = summary.fail,
            warn = summary.warn,
            access_problems = report.access_problems.len(),
            "drift check"
        );
        results.push((bucket, report));
    }
    crate::ports::deliver(
        metrics,
        config.metrics_mode,
        &config.metrics_namespace,
        &schedule::datums(&results),
        emf_output,
    )
    .await;
    if let (Some(topic), Some(message)) = (&config.alert_topic_arn, schedule::alert(&results)) {
        if let Err(error) = alerts.publish(topic, &message).await {
            tracing::error!(error = %error, "could not send the drift-check alert");
        }
    }
    Ok(schedule::response(&results))
}

/// What the scheduled drift check needs, built once beside the auditor (the same clients).
pub struct DriftChecker {
    config: Config,
    metrics: super::cloudwatch::CloudWatchMetrics,
    alerts: super::alerts::SnsAlerts,
}

impl DriftChecker {
    pub fn new(config: &Config, clients: &super::AwsClients) -> Self {
        Self {
            config: config.clone(),
            metrics: super::cloudwatch::CloudWatchMetrics::new(clients.cloudwatch.clone()),
            alerts: super::alerts::SnsAlerts::new(clients.sns.clone()),
        }
    }

    pub async fn run(
        &self,
        request: &DriftCheck,
        emf_output: EmfOutput,
    ) -> Result<serde_json::Value, DriftCheckError> {
        drift_check(
            &self.config,
            request,
            &self.metrics,
            &self.alerts,
            emf_output,
        )
        .await
    }
}
