//! The narrow capabilities the handler needs from the outside world, in domain types.
//!
//! `crate::aws` implements them with the AWS SDK; handler tests implement them in memory.

use crate::alert::AlertMessage;
use crate::audit::rules::{Destination, ReplicationRules};
use crate::audit::{Absence, Probe, ProbeError};
use crate::config::MetricsMode;
use crate::metrics::{Delivery, EmfOutput, MetricDatum};
use std::future::Future;
use std::io::Write;
use thiserror::Error;

/// HEADs objects and reads replication configurations and object tags.
pub trait ObjectProbe: Send + Sync {
    /// HEAD in the source account (the auditor's own credentials).
    fn head_source(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Probe> + Send;
    /// HEAD in the destination's account (the audit role assumed there), with
    /// `ExpectedBucketOwner` when the account is known; `version_id: None` reads the current
    /// version. A 404 is only `NotFound` once the bucket itself is known to exist.
    fn head_destination(
        &self,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Probe> + Send;
    /// The source bucket's replication rules; `Ok(None)` when it has no configuration.
    fn replication_rules(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<ReplicationRules>, ProbeError>> + Send;
    /// The source object version's tags (asked when a rule filters on tags, or the tags
    /// changed).
    fn object_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(String, String)>, ProbeError>> + Send;
    /// What is missing when a version someone named is not in the source bucket: the bucket,
    /// the version, or the key (with keys of the same "folder" that look like it).
    fn explain_absence(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Absence> + Send;
    /// The replica's tags in the destination's account (asked only after a tag change).
    fn replica_tags(
        &self,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(String, String)>, ProbeError>> + Send;
}

/// Publishing failed; `source` keeps the SDK error for the log.
#[derive(Debug, Error)]
#[error("{operation} failed: {source}")]
pub struct PublishError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Displays an error with its whole `source()` chain on one line.
pub struct DisplayChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// Sends metric datapoints (at most one call per 1000 datapoints).
pub trait MetricsPublisher: Send + Sync {
    /// Returns the number of API calls made.
    fn put(
        &self,
        namespace: &str,
        data: &[MetricDatum],
    ) -> impl Future<Output = Result<usize, PublishError>> + Send;
}

/// Sends one alert message.
pub trait AlertPublisher: Send + Sync {
    fn publish(
        &self,
        topic_arn: &str,
        message: &AlertMessage,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Sends `data` as `mode` says: one PutMetricData call, or Embedded Metric Format lines on
/// `output` (written by `metrics::emf_lines` from the same datapoints). When PutMetricData is
/// refused, the same values are written as EMF lines instead, so a datapoint is never lost.
pub async fn deliver(
    publisher: &impl MetricsPublisher,
    mode: MetricsMode,
    namespace: &str,
    data: &[MetricDatum],
    output: EmfOutput,
) -> Delivery {
    match mode {
        MetricsMode::Off => return Delivery::Off,
        MetricsMode::CloudWatch => match publisher.put(namespace, data).await {
            Ok(_) => return Delivery::PutMetricData,
            Err(failure) => tracing::error!(
                error = %DisplayChain(&failure),
                "could not publish metrics to CloudWatch; writing them as Embedded Metric Format instead"
            ),
        },
        MetricsMode::Emf => {}
    }
    let lines = crate::metrics::emf_lines(namespace, data, chrono::Utc::now().timestamp_millis());
    let text: String = lines.into_iter().map(|line| line + "\n").collect();
    let written = match output {
        EmfOutput::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
        EmfOutput::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
    };
    if let Err(failure) = written {
        tracing::error!(error = %failure, "could not write Embedded Metric Format lines");
    }
    Delivery::Emf
}
