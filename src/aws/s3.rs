//! S3 probes: HEAD of source and replica, and the source bucket's replication rules.
//!
//! HEAD only — object bodies are never read. SDK errors become [`ProbeErrorKind`]s: 404/405 are
//! "not found", 403 stays "access denied" (never "missing": without s3:ListBucket S3 answers a
//! missing object with 403), 503/429 "throttled", failing credentials "credentials".

use crate::audit::rules::{bucket_name_from_arn, ReplicationRule, ReplicationRules};
use crate::audit::{ObjectFacts, Probe, ProbeError, ProbeErrorKind, ReplicationStatus};
use crate::ports::ObjectProbe;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{ReplicationRuleStatus, ServerSideEncryption};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};

/// The S3 side of the auditor: source client (own role) and destination client (audit role).
#[derive(Clone, Debug)]
pub struct S3Probe {
    source: Client,
    destination: Client,
}

impl S3Probe {
    pub fn new(source: Client, destination: Client) -> Self {
        Self {
            source,
            destination,
        }
    }
}

impl ObjectProbe for S3Probe {
    async fn head_source(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        head(&self.source, bucket, key, version_id).await
    }

    async fn head_destination(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        head(&self.destination, bucket, key, version_id).await
    }

    async fn replication_rules(
        &self,
        bucket: &str,
    ) -> Result<Option<ReplicationRules>, ProbeError> {
        let output = match self
            .source
            .get_bucket_replication()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some("ReplicationConfigurationNotFoundError") => {
                return Ok(None)
            }
            Err(error) => return Err(probe_error(&error, "GetBucketReplication")),
        };
        let Some(configuration) = output.replication_configuration else {
            return Ok(None);
        };
        let rules = configuration
            .rules
            .iter()
            .map(|rule| {
                let filter = rule.filter.as_ref();
                let and = filter.and_then(|f| f.and.as_ref());
                let prefix = and
                    .and_then(|a| a.prefix.clone())
                    .or_else(|| filter.and_then(|f| f.prefix.clone()))
                    // The V1 rule-level prefix: deprecated in the API, still found in old configurations.
                    .or_else(|| {
                        #[allow(deprecated)]
                        rule.prefix.clone()
                    })
                    .unwrap_or_default();
                ReplicationRule {
                    id: rule.id.clone(),
                    priority: rule.priority,
                    enabled: rule.status == ReplicationRuleStatus::Enabled,
                    prefix,
                    has_tag_filter: filter.is_some_and(|f| f.tag.is_some())
                        || and.is_some_and(|a| !a.tags().is_empty()),
                    destination_bucket: rule
                        .destination
                        .as_ref()
                        .map(|d| bucket_name_from_arn(&d.bucket))
                        .unwrap_or_default(),
                }
            })
            .collect();
        Ok(Some(ReplicationRules { rules }))
    }
}

async fn head(client: &Client, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
    let result = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .send()
        .await;
    match result {
        Ok(output) => Probe::Found(ObjectFacts {
            version_id: output.version_id,
            replication_status: output
                .replication_status
                .map(|s| ReplicationStatus::parse(s.as_str())),
            size: output.content_length,
            etag: output.e_tag,
            last_modified: output.last_modified.and_then(to_chrono),
            kms_encrypted: matches!(
                output.server_side_encryption,
                Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
            ),
        }),
        Err(SdkError::ServiceError(service))
            if matches!(service.raw().status().as_u16(), 404 | 405) =>
        {
            Probe::NotFound
        }
        Err(error) => Probe::Failed(probe_error(&error, "HeadObject")),
    }
}

fn to_chrono(time: aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Classifies an SDK error; the message keeps the whole error chain for the finding and log.
pub(crate) fn probe_error<E>(
    error: &SdkError<E, HttpResponse>,
    operation: &'static str,
) -> ProbeError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let message = DisplayErrorContext(error).to_string();
    let kind = match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = error.raw_response().map(|r| r.status().as_u16());
            match (status, code) {
                (
                    _,
                    "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException",
                ) => ProbeErrorKind::Throttled,
                (Some(503 | 429), _) => ProbeErrorKind::Throttled,
                (Some(403), _) | (_, "AccessDenied") => ProbeErrorKind::AccessDenied,
                (Some(500..=599), _) => ProbeErrorKind::Transient,
                _ => ProbeErrorKind::Other,
            }
        }
        _ if mentions_credentials(&message) => ProbeErrorKind::Credentials,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProbeErrorKind::Transient
        }
        _ => ProbeErrorKind::Other,
    };
    ProbeError {
        kind,
        operation,
        message,
    }
}

fn mentions_credentials(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("credentials") || lower.contains("assumerole") || lower.contains("identity")
}
