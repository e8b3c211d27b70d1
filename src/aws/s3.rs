//! S3 probes: HEAD of source and replica, and the source bucket's replication rules.
//!
//! HEAD only — object bodies are never read. HEADs take the lean path in [`super::head`] (the hot
//! loop); GetBucketReplication (once per bucket per 5 minutes) uses the SDK client. Failures
//! become [`ProbeErrorKind`]s: 404/405 are "not found", 403 stays "access denied" (never
//! "missing": without s3:ListBucket S3 answers a missing object with 403), 503/429
//! "throttled", failing credentials "credentials".

use super::head::HeadClient;
use crate::audit::rules::{bucket_name_from_arn, ReplicationRule, ReplicationRules};
use crate::audit::{Probe, ProbeError, ProbeErrorKind};
use crate::ports::ObjectProbe;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::ReplicationRuleStatus;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// The S3 side of the auditor: HEADs with the auditor's own credentials (source) and the
/// assumed audit role (destination); replication rules through the source SDK client.
#[derive(Clone, Debug)]
pub struct S3Probe {
    rules: Client,
    source: HeadClient,
    destination: HeadClient,
}

impl S3Probe {
    pub fn new(rules: Client, source: HeadClient, destination: HeadClient) -> Self {
        Self {
            rules,
            source,
            destination,
        }
    }
}

impl ObjectProbe for S3Probe {
    async fn head_source(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        self.source.head(bucket, key, version_id).await
    }

    async fn head_destination(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        self.destination.head(bucket, key, version_id).await
    }

    async fn replication_rules(
        &self,
        bucket: &str,
    ) -> Result<Option<ReplicationRules>, ProbeError> {
        let output = match self
            .rules
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
    use aws_sdk_s3::types::{
        Destination, ReplicationConfiguration, ReplicationRule as SdkRule,
        ReplicationRuleAndOperator, ReplicationRuleFilter, Tag,
    };
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn status(code: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
    }

    fn probe(rules: &[&Rule]) -> S3Probe {
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules);
        let heads = HeadClient::unreachable_for_tests();
        S3Probe::new(client, heads.clone(), heads)
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
