//! AWS adapters: the only place that sees SDK types. Each returns domain types.
//!
//! [`AwsClients::load`] builds every client once per container from the standard SDK
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, credentials); destination HEADs
//! use the SDK's assume-role provider behind a cache that keeps credentials until shortly
//! before they expire (one STS call per container per credential lifetime).

pub mod alerts;
pub mod cloudwatch;
pub mod doctor;
pub mod head;
pub mod s3;

use crate::config::Config;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::{HttpConnectorSettings, SharedHttpConnector};
use head::{EndpointSettings, HeadClient, RetryPolicy};
use std::time::Duration;

/// Session name the destination account sees in CloudTrail for the auditor's HEADs.
pub const SESSION_NAME: &str = "replication-auditor";

/// Attempts per SDK call (first try + retries with exponential backoff and full jitter).
/// Standard mode retries 503 SlowDown, throttling and 5xx; after that the object's verdict is
/// `error` and SQS retries it later.
pub const MAX_ATTEMPTS: u32 = 4;
/// First retry waits up to this long, doubling after (≤ 0.2 + 0.4 + 0.8 s in all): short enough
/// to stay inside one invocation's budget, long enough to let an S3 prefix's rate recover.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// TCP connect timeout of every call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt (request → response) may take this long before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One call, retries included, may take this long.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct AwsClients {
    /// GetBucketReplication on source buckets.
    pub source_s3: aws_sdk_s3::Client,
    pub source_heads: HeadClient,
    pub destination_heads: HeadClient,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
}

impl AwsClients {
    pub async fn load(config: &Config) -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        let clients = Self::from_sdk_config(&base, config).await;
        // The AssumeRole call overlaps with receiving the first event and its source HEAD.
        tokio::spawn(clients.destination_heads.clone().prefetch_credentials());
        clients
    }

    pub async fn from_sdk_config(base: &SdkConfig, config: &Config) -> Self {
        let endpoints = EndpointSettings::from_sdk_config(base);
        let source_s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(base)
                .force_path_style(endpoints.force_path_style)
                .build(),
        );
        let destination_credentials = match &config.destination_role_arn {
            Some(role_arn) => {
                let mut provider = AssumeRoleProvider::builder(role_arn)
                    .session_name(SESSION_NAME)
                    .configure(base);
                if let Some(external_id) = &config.external_id {
                    provider = provider.external_id(external_id);
                }
                Some(SharedCredentialsProvider::new(provider.build().await))
            }
            None => base.credentials_provider(),
        };
        let transport = head_transport(base);
        let retry = RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            initial_backoff: INITIAL_BACKOFF,
            attempt_timeout: ATTEMPT_TIMEOUT,
            operation_timeout: OPERATION_TIMEOUT,
        };
        Self {
            source_s3,
            source_heads: HeadClient::new(
                transport.clone(),
                endpoints.clone(),
                base.credentials_provider(),
                retry,
            ),
            destination_heads: HeadClient::new(
                transport,
                endpoints,
                destination_credentials,
                retry,
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::new(base),
            sns: aws_sdk_sns::Client::new(base),
        }
    }
}

/// The SDK's own HTTP connector (rustls with the SDK's native roots, keep-alive pool, connect
/// and read timeouts), shared by the source and destination HEAD clients.
fn head_transport(base: &SdkConfig) -> SharedHttpConnector {
    let mut builder = aws_smithy_http_client::Connector::builder().connector_settings(
        HttpConnectorSettings::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(ATTEMPT_TIMEOUT)
            .build(),
    );
    if let Some(sleep) = base.sleep_impl() {
        builder = builder.sleep_impl(sleep);
    }
    SharedHttpConnector::new(
        builder
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build(),
    )
}

/// The auditor as deployed: S3 probes, CloudWatch metrics, SNS alerts.
pub type LiveAuditor =
    crate::handler::Auditor<s3::S3Probe, cloudwatch::CloudWatchMetrics, alerts::SnsAlerts>;

pub fn live_auditor(
    config: Config,
    clients: AwsClients,
    emf_output: crate::handler::EmfOutput,
) -> LiveAuditor {
    crate::handler::Auditor::new(
        config,
        s3::S3Probe::new(
            clients.source_s3,
            clients.source_heads,
            clients.destination_heads,
        ),
        cloudwatch::CloudWatchMetrics::new(clients.cloudwatch),
        alerts::SnsAlerts::new(clients.sns),
        emf_output,
    )
}
