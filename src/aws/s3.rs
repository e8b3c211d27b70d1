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

#[cfg(test)]
mod tests {
    //! The adapter against the SDK's own mocks: GIVEN what S3 answers, THEN the domain value.
    use super::*;
    use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
    use aws_sdk_s3::operation::head_object::HeadObjectOutput;
    use aws_sdk_s3::types::{
        Destination, ReplicationConfiguration, ReplicationRule as SdkRule,
        ReplicationRuleAndOperator, ReplicationRuleFilter, ReplicationStatus as SdkStatus, Tag,
    };
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn status(code: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
    }

    fn probe(rules: &[&Rule]) -> S3Probe {
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules);
        S3Probe::new(client.clone(), client)
    }

    #[tokio::test]
    async fn head_reads_status_version_size_and_kms() {
        let rule = mock!(Client::head_object)
            .match_requests(|r| {
                r.bucket() == Some("src")
                    && r.key() == Some("a b.png")
                    && r.version_id() == Some("v1")
            })
            .then_output(|| {
                HeadObjectOutput::builder()
                    .version_id("v1")
                    .replication_status(SdkStatus::Complete)
                    .content_length(42)
                    .e_tag("\"e\"")
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .build()
            });
        let Probe::Found(facts) = probe(&[&rule])
            .head_source("src", "a b.png", Some("v1"))
            .await
        else {
            panic!("expected a found object");
        };
        assert_eq!(facts.replication_status, Some(ReplicationStatus::Completed));
        assert_eq!(
            (facts.version_id.as_deref(), facts.size),
            (Some("v1"), Some(42))
        );
        assert!(facts.kms_encrypted);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn not_found_and_delete_markers_are_not_found() {
        for code in [404, 405] {
            let rule = mock!(Client::head_object).then_http_response(move || status(code, ""));
            assert_eq!(
                probe(&[&rule])
                    .head_destination("dst", "k", Some("v"))
                    .await,
                Probe::NotFound,
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn forbidden_is_access_denied_never_not_found() {
        let rule = mock!(Client::head_object).then_http_response(|| status(403, ""));
        match probe(&[&rule])
            .head_destination("dst", "k", Some("v"))
            .await
        {
            Probe::Failed(error) => {
                assert_eq!(error.kind, ProbeErrorKind::AccessDenied);
                assert_eq!(error.operation, "HeadObject");
            }
            other => panic!("403 became {other:?}"),
        }
    }

    #[tokio::test]
    async fn slow_down_and_5xx_are_throttled_or_transient() {
        let throttled = mock!(Client::head_object).then_http_response(|| status(503, ""));
        let Probe::Failed(error) = probe(&[&throttled]).head_source("src", "k", None).await else {
            panic!()
        };
        assert_eq!(error.kind, ProbeErrorKind::Throttled);
        let broken = mock!(Client::head_object).then_http_response(|| status(500, ""));
        let Probe::Failed(error) = probe(&[&broken]).head_source("src", "k", None).await else {
            panic!()
        };
        assert_eq!(error.kind, ProbeErrorKind::Transient);
    }

    #[tokio::test]
    async fn missing_replication_configuration_is_none_not_an_error() {
        let rule = mock!(Client::get_bucket_replication).then_http_response(|| {
            status(404, "<Error><Code>ReplicationConfigurationNotFoundError</Code><Message>none</Message></Error>")
        });
        assert_eq!(probe(&[&rule]).replication_rules("src").await, Ok(None));
    }

    #[tokio::test]
    async fn replication_rules_map_filters_priorities_and_destinations() {
        let rule = mock!(Client::get_bucket_replication).then_output(|| {
            let destination = |bucket: &str| Destination::builder().bucket(bucket).build().unwrap();
            let and = ReplicationRuleAndOperator::builder()
                .prefix("img/")
                .tags(
                    Tag::builder()
                        .key("replicate")
                        .value("yes")
                        .build()
                        .unwrap(),
                )
                .build();
            #[allow(deprecated)]
            let v1 = SdkRule::builder()
                .status(ReplicationRuleStatus::Disabled)
                .prefix("logs/")
                .destination(destination("arn:aws:s3:::old"))
                .build()
                .unwrap();
            let v2 = SdkRule::builder()
                .id("images")
                .priority(3)
                .status(ReplicationRuleStatus::Enabled)
                .filter(ReplicationRuleFilter::builder().and(and).build())
                .destination(destination("arn:aws:s3:::dst"))
                .build()
                .unwrap();
            let configuration = ReplicationConfiguration::builder()
                .role("arn:aws:iam::1:role/r")
                .rules(v2)
                .rules(v1)
                .build()
                .unwrap();
            GetBucketReplicationOutput::builder()
                .replication_configuration(configuration)
                .build()
        });
        let rules = probe(&[&rule])
            .replication_rules("src")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rules.rules,
            vec![
                ReplicationRule {
                    id: Some("images".into()),
                    priority: Some(3),
                    enabled: true,
                    prefix: "img/".into(),
                    has_tag_filter: true,
                    destination_bucket: "dst".into(),
                },
                ReplicationRule {
                    id: None,
                    priority: None,
                    enabled: false,
                    prefix: "logs/".into(),
                    has_tag_filter: false,
                    destination_bucket: "old".into(),
                },
            ]
        );
    }
}
