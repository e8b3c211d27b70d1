//! AWS adapters: the only place that sees SDK types. Each returns domain types.
//!
//! [`AwsClients::load`] builds every client once per container from the standard SDK
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, credentials). Every call goes
//! through the SDK's clients: signing, retries with the standard mode's retry quota,
//! credentials caching and error metadata are the SDK's. Destination HEADs use one client per
//! destination account, with the SDK's assume-role provider for the audit role there (one STS
//! call per container per credential lifetime, cached by the client's identity cache).

pub mod alerts;
pub mod athena;
pub mod cloudwatch;
pub mod doctor;
pub mod drift_check;
pub mod error;
pub mod inventory;
pub mod rules;
pub mod s3;

pub use s3::DestinationConfigs;

use crate::config::Config;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::time::Duration;

/// Session name the destination account sees in CloudTrail for the auditor's HEADs.
pub const SESSION_NAME: &str = "replication-auditor";

/// Attempts per SDK call (first try + retries with exponential backoff and full jitter, and the
/// standard mode's retry quota, so a brownout is not hit with 4× load). After that the object's
/// verdict is `error` and SQS retries it later.
pub const MAX_ATTEMPTS: u32 = 4;
/// First retry waits up to this long, doubling after: short enough to stay inside one
/// invocation's budget, long enough to let an S3 prefix's rate recover.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// TCP connect timeout of every call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt (request → response) may take this long before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One call, retries included, may take this long.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct AwsClients {
    /// The auditor's own credentials: source HEADs, tags, GetBucketReplication.
    pub source_s3: aws_sdk_s3::Config,
    /// Per destination account: a client configuration with the audit role assumed there.
    pub destination_s3: DestinationConfigs,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    /// The account of the credentials in use (asked of STS on the command line only): the
    /// expected owner of every source bucket.
    pub caller_account: Option<String>,
    /// The SDK environment the clients were built from (for clients built apart, such as
    /// Athena's on the command line).
    pub base: SdkConfig,
}

/// Configuration a person must fix before any AWS call can work, named in one line (the
/// credentials chain's own causes follow only with `-v`).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("no AWS region is configured: set AWS_REGION (or `region` in the profile AWS_PROFILE names)")]
    NoRegion,
    #[error("no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run with -v for what each provider of the chain answered)")]
    NoCredentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("nothing answers at {url} (AWS_ENDPOINT_URL): start the service there, or unset AWS_ENDPOINT_URL to use AWS itself")]
    EndpointUnreachable {
        url: String,
        #[source]
        source: std::io::Error,
    },
}

impl AwsClients {
    /// [`Self::load`] for a person at the command line: a missing region or credentials is
    /// refused at once with the setting to fix, instead of an audit `error` per object.
    pub async fn load_checked(config: &Config) -> Result<Self, SetupError> {
        let base = Self::base().await;
        check_setup(&base).await?;
        let mut clients = Self::from_sdk_config(&base, config).await;
        clients.caller_account = caller_account(&base).await;
        Ok(clients)
    }

    pub async fn load(config: &Config) -> Self {
        Self::from_sdk_config(&Self::base().await, config).await
    }

    /// The standard SDK environment, with the auditor's retry and timeout settings.
    async fn base() -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
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
            .await
    }

    pub async fn from_sdk_config(base: &SdkConfig, config: &Config) -> Self {
        let s3_config = |credentials: Option<SharedCredentialsProvider>| {
            let mut builder = aws_sdk_s3::config::Builder::from(base)
                .force_path_style(uses_custom_endpoint(base));
            if let Some(credentials) = credentials {
                builder = builder.credentials_provider(credentials);
            }
            builder.build()
        };
        let mut by_account = HashMap::new();
        for role_arn in config.destination_roles() {
            let credentials = assume_role(base, role_arn, config.external_id.as_deref()).await;
            if let Some(account) = account_of_arn(role_arn) {
                by_account.insert(account.to_string(), s3_config(Some(credentials)));
            }
        }
        let default_account = config
            .destination_role_arn
            .as_deref()
            .and_then(account_of_arn)
            .map(str::to_string);
        let default = match &default_account {
            Some(account) => by_account[account].clone(),
            None => s3_config(None),
        };
        Self {
            source_s3: s3_config(None),
            destination_s3: DestinationConfigs {
                by_account,
                default,
                default_account,
            },
            cloudwatch: aws_sdk_cloudwatch::Client::new(base),
            sns: aws_sdk_sns::Client::new(base),
            caller_account: None,
            base: base.clone(),
        }
    }
}

/// The account the credentials belong to (STS GetCallerIdentity; `None` if STS does not say).
pub async fn caller_account(base: &SdkConfig) -> Option<String> {
    match aws_sdk_sts::Client::new(base)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => identity.account,
        Err(error) => {
            tracing::warn!(error = %error::ErrorSummary::of(&error), "sts:GetCallerIdentity failed: source buckets are read without an ExpectedBucketOwner");
            None
        }
    }
}

/// Whether the SDK environment has a region and credentials that resolve, and whether
/// something listens at a configured endpoint (`AWS_ENDPOINT_URL`; AWS's own endpoints are not
/// probed).
pub async fn check_setup(base: &SdkConfig) -> Result<(), SetupError> {
    if base.region().is_none() {
        return Err(SetupError::NoRegion);
    }
    if let Some(url) = base.endpoint_url() {
        if let Some(address) = endpoint_address(url) {
            let connect = tokio::net::TcpStream::connect(address.clone());
            let answer = tokio::time::timeout(CONNECT_TIMEOUT, connect).await;
            let failure = match answer {
                Ok(Ok(_)) => None,
                Ok(Err(error)) => Some(error),
                Err(_) => Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer from {address} within {CONNECT_TIMEOUT:?}"),
                )),
            };
            if let Some(source) = failure {
                return Err(SetupError::EndpointUnreachable {
                    url: url.to_string(),
                    source,
                });
            }
        }
    }
    if let Some(provider) = base.credentials_provider() {
        use aws_credential_types::provider::ProvideCredentials;
        provider
            .provide_credentials()
            .await
            .map_err(SetupError::NoCredentials)?;
    }
    Ok(())
}

/// `http://host:port/...` → `host:port` (the scheme's port when none is given).
fn endpoint_address(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !authority.ends_with(']');
    Some(match (has_port, scheme) {
        (true, _) => authority.to_string(),
        (false, "http") => format!("{authority}:80"),
        (false, _) => format!("{authority}:443"),
    })
}

pub(crate) async fn assume_role(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> SharedCredentialsProvider {
    let mut provider = AssumeRoleProvider::builder(role_arn)
        .session_name(SESSION_NAME)
        .configure(base);
    if let Some(external_id) = external_id {
        provider = provider.external_id(external_id);
    }
    SharedCredentialsProvider::new(provider.build().await)
}

/// `arn:aws:iam::123456789012:role/x` → `123456789012`.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Whether S3 requests go to a configured endpoint (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`
/// or a profile's `endpoint_url`): then path-style addressing, as local emulators have no
/// virtual-host DNS. Real AWS endpoints keep the SDK's own endpoint rules.
pub(crate) fn uses_custom_endpoint(base: &SdkConfig) -> bool {
    let service_url = base.service_config().and_then(|config| {
        config.load_config(
            aws_types::service_config::ServiceConfigKey::builder()
                .service_id("S3")
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .expect("every field is set"),
        )
    });
    service_url.is_some() || base.endpoint_url().is_some()
}

/// The auditor as deployed: S3 probes, CloudWatch metrics, SNS alerts.
pub type LiveAuditor =
    crate::handler::Auditor<s3::S3Probe, cloudwatch::CloudWatchMetrics, alerts::SnsAlerts>;

pub fn live_auditor(
    config: Config,
    clients: AwsClients,
    emf_output: crate::metrics::EmfOutput,
) -> LiveAuditor {
    let probe = s3::S3Probe::new(clients.source_s3, clients.destination_s3);
    if let Some(account) = &clients.caller_account {
        probe.expect_source_owner(account);
    }
    crate::handler::Auditor::new(
        config,
        probe,
        cloudwatch::CloudWatchMetrics::new(clients.cloudwatch),
        alerts::SnsAlerts::new(clients.sns),
        emf_output,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_become_addresses_to_connect_to() {
        assert_eq!(
            endpoint_address("http://127.0.0.1:4566").as_deref(),
            Some("127.0.0.1:4566")
        );
        assert_eq!(
            endpoint_address("https://s3.example.com/base").as_deref(),
            Some("s3.example.com:443")
        );
        assert_eq!(
            endpoint_address("http://localhost").as_deref(),
            Some("localhost:80")
        );
        assert_eq!(endpoint_address("nonsense"), None);
    }

    #[test]
    fn role_arns_name_their_account() {
        assert_eq!(
            account_of_arn("arn:aws:iam::222222222222:role/audit"),
            Some("222222222222")
        );
        assert_eq!(account_of_arn("nonsense"), None);
    }
}
