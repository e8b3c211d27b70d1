//! In-memory implementations of the handler's ports: a fake S3 and recording sinks.

use s3_replication_auditor::alert::AlertMessage;
use s3_replication_auditor::audit::rules::{Destination, ReplicationRule, ReplicationRules};
use s3_replication_auditor::audit::{Absence, ObjectFacts, Probe, ProbeError, ReplicationStatus};
use s3_replication_auditor::metrics::MetricDatum;
use s3_replication_auditor::ports::{AlertPublisher, MetricsPublisher, ObjectProbe, PublishError};
use std::collections::HashMap;
use std::sync::Mutex;

/// A fake S3: objects per (bucket, key) on each side, one rule per source bucket, tags per
/// source object.
#[derive(Default)]
pub struct FakeS3 {
    pub source: HashMap<(String, String), ObjectFacts>,
    pub destination: HashMap<(String, String), ObjectFacts>,
    pub rules: HashMap<String, ReplicationRules>,
    pub tags: HashMap<(String, String), Vec<(String, String)>>,
    pub heads: Mutex<Vec<String>>,
}

pub fn facts(version: &str, status: Option<&str>) -> ObjectFacts {
    ObjectFacts {
        version_id: Some(version.to_string()),
        replication_status: status.map(ReplicationStatus::parse),
        size: Some(48213),
        etag: Some("\"3f1c8d6f\"".into()),
        last_modified: Some(chrono::Utc::now() - chrono::Duration::seconds(30)),
        kms_encrypted: false,
        ..ObjectFacts::default()
    }
}

impl FakeS3 {
    pub fn pair(mut self, source: &str, destination: &str) -> Self {
        self.rules.insert(
            source.into(),
            ReplicationRules {
                role_arn: String::new(),
                rules: vec![ReplicationRule {
                    id: Some("everything".into()),
                    priority: Some(1),
                    enabled: true,
                    destination_bucket: destination.into(),
                    ..ReplicationRule::default()
                }],
            },
        );
        self
    }

    /// A replicated object: COMPLETED in the source, an identical replica in `destination`.
    pub fn replicated(mut self, source: &str, destination: &str, key: &str, version: &str) -> Self {
        self.source.insert(
            (source.into(), key.into()),
            facts(version, Some("COMPLETED")),
        );
        self.destination.insert(
            (destination.into(), key.into()),
            facts(version, Some("REPLICA")),
        );
        self
    }

    pub fn with_status(
        mut self,
        source: &str,
        key: &str,
        version: &str,
        status: Option<&str>,
    ) -> Self {
        self.source
            .insert((source.into(), key.into()), facts(version, status));
        self
    }

    /// The tags set for (bucket, key), the read recorded as `what bucket/key`.
    fn tags_of(&self, what: &str, bucket: &str, key: &str) -> Vec<(String, String)> {
        self.heads
            .lock()
            .unwrap()
            .push(format!("{what} {bucket}/{key}"));
        self.tags
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn lookup(
        map: &HashMap<(String, String), ObjectFacts>,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Probe {
        match map.get(&(bucket.to_string(), key.to_string())) {
            Some(found) if version.is_none() || found.version_id.as_deref() == version => {
                Probe::Found(found.clone())
            }
            _ => Probe::NotFound,
        }
    }
}

impl ObjectProbe for FakeS3 {
    async fn head_source(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        self.heads
            .lock()
            .unwrap()
            .push(format!("source {bucket}/{key}"));
        Self::lookup(&self.source, bucket, key, version_id)
    }

    async fn head_destination(
        &self,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> Probe {
        let bucket = &destination.bucket;
        self.heads
            .lock()
            .unwrap()
            .push(format!("destination {bucket}/{key}"));
        Self::lookup(&self.destination, bucket, key, version_id)
    }

    async fn replication_rules(
        &self,
        bucket: &str,
    ) -> Result<Option<ReplicationRules>, ProbeError> {
        Ok(self.rules.get(bucket).cloned())
    }

    async fn object_tags(
        &self,
        bucket: &str,
        key: &str,
        _version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        Ok(self.tags_of("tags", bucket, key))
    }

    async fn explain_absence(
        &self,
        _bucket: &str,
        _key: &str,
        _version_id: Option<&str>,
    ) -> Absence {
        Absence::NotExplained
    }

    async fn replica_tags(
        &self,
        destination: &Destination,
        key: &str,
        _version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        Ok(self.tags_of("replica tags", &destination.bucket, key))
    }
}

/// Records every PutMetricData-equivalent call.
#[derive(Default)]
pub struct RecordingMetrics {
    pub calls: Mutex<Vec<(String, Vec<MetricDatum>)>>,
}

impl MetricsPublisher for RecordingMetrics {
    async fn put(&self, namespace: &str, data: &[MetricDatum]) -> Result<usize, PublishError> {
        self.calls
            .lock()
            .unwrap()
            .push((namespace.to_string(), data.to_vec()));
        Ok(1)
    }
}

/// Records every alert.
#[derive(Default)]
pub struct RecordingAlerts {
    pub sent: Mutex<Vec<(String, AlertMessage)>>,
}

impl AlertPublisher for RecordingAlerts {
    async fn publish(&self, topic_arn: &str, message: &AlertMessage) -> Result<(), PublishError> {
        self.sent
            .lock()
            .unwrap()
            .push((topic_arn.to_string(), message.clone()));
        Ok(())
    }
}

/// A fake S3 in which every object exists, COMPLETED, with an identical replica.
#[derive(Default)]
pub struct EverythingReplicated {
    pub heads: std::sync::atomic::AtomicUsize,
}

impl ObjectProbe for EverythingReplicated {
    async fn head_source(&self, _bucket: &str, _key: &str, version_id: Option<&str>) -> Probe {
        self.heads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Probe::Found(facts(version_id.unwrap_or("latest"), Some("COMPLETED")))
    }

    async fn head_destination(
        &self,
        _destination: &Destination,
        _key: &str,
        version_id: Option<&str>,
    ) -> Probe {
        self.heads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Probe::Found(facts(version_id.unwrap_or("latest"), Some("REPLICA")))
    }

    async fn replication_rules(
        &self,
        _bucket: &str,
    ) -> Result<Option<ReplicationRules>, ProbeError> {
        Ok(None)
    }

    async fn object_tags(
        &self,
        _bucket: &str,
        _key: &str,
        _version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        Ok(Vec::new())
    }

    async fn explain_absence(
        &self,
        _bucket: &str,
        _key: &str,
        _version_id: Option<&str>,
    ) -> Absence {
        Absence::NotExplained
    }

    async fn replica_tags(
        &self,
        _destination: &Destination,
        _key: &str,
        _version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        Ok(Vec::new())
    }
}
