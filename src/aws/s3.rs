//! S3 probes: HEAD of source and replica, object tags, and the source bucket's replication rules.
//!
//! HEAD only — object bodies are never read. Every call is the SDK's (`head_object`,
//! `head_bucket`, `get_object_tagging`, `get_bucket_replication`). What the SDK does not do
//! is done here: a bucket in another region (cross-region replication) answers 301/400 with
//! `x-amz-bucket-region`, and the call is repeated once with a client for that region (the Rust
//! SDK does not follow these redirects itself), the region then remembered per bucket.
//! Answers become domain values: 404 is "not found" only once the bucket is known to exist
//! (S3 answers a HEAD in a missing bucket with a bare 404 too), 405 on a version, or 404 with
//! `x-amz-delete-marker: true`, is a delete marker, 403 stays "access denied" (never
//! "missing": without s3:ListBucket S3 answers a missing object with 403), 503/429
//! "throttled", failing credentials "credentials".

use super::error::ErrorSummary;
use crate::audit::rules::{Destination, ReplicationRules};
use crate::audit::{Absence, ObjectFacts, Probe, ProbeError, ProbeErrorKind, ReplicationStatus};
use crate::ports::ObjectProbe;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a destination bucket's existence (HeadBucket) is trusted before it is asked again.
pub const BUCKET_CHECK_TTL: Duration = Duration::from_secs(300);

/// One S3 client configuration (one set of credentials) with a client per region.
#[derive(Debug)]
struct Regional {
    config: aws_sdk_s3::Config,
    home: Client,
    others: Mutex<HashMap<String, Client>>,
}

impl Regional {
    fn new(config: aws_sdk_s3::Config) -> Self {
        Self {
            home: Client::from_conf(config.clone()),
            config,
            others: Mutex::new(HashMap::new()),
        }
    }

    fn home_region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    /// The client for `region` (the home client when `None` or the home region). Clients of
    /// one configuration share its credentials provider and identity cache.
    fn client(&self, region: Option<&str>) -> Client {
        match region {
            Some(region) if Some(region) != self.home_region() => {
                let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
                others
                    .entry(region.to_string())
                    .or_insert_with(|| {
                        Client::from_conf(
                            self.config
                                .to_builder()
                                .region(aws_sdk_s3::config::Region::new(region.to_string()))
                                .build(),
                        )
                    })
                    .clone()
            }
            _ => self.home.clone(),
        }
    }
}

/// A destination account's clients and the owner its buckets must have.
type AccountSide = (Arc<Regional>, Option<String>);
/// A HeadBucket answer per (bucket, expected owner), with when it was asked.
type BucketChecks = HashMap<(String, Option<String>), (Instant, Result<(), ProbeError>)>;

/// Which S3 client configuration reaches a destination account.
#[derive(Clone, Debug)]
pub struct DestinationConfigs {
    /// Audit roles by the account id in their ARN.
    pub by_account: HashMap<String, aws_sdk_s3::Config>,
    /// For a destination whose account the rules do not state: the single
    /// `AUDITOR_DESTINATION_ROLE_ARN` role, or else the auditor's own credentials.
    pub default: aws_sdk_s3::Config,
    /// The account of `AUDITOR_DESTINATION_ROLE_ARN` (the expected owner for `default`).
    pub default_account: Option<String>,
}

/// The S3 side of the auditor: the source with the auditor's own credentials, each
/// destination account through its audit role.
#[derive(Clone, Debug)]
pub struct S3Probe {
    source: Arc<Regional>,
    destinations: Arc<HashMap<Option<String>, AccountSide>>,
    default_destination: AccountSide,
    /// Buckets found in another region than the client's (`x-amz-bucket-region`).
    bucket_regions: Arc<Mutex<HashMap<String, String>>>,
    /// HeadBucket answers per (bucket, expected owner), trusted for [`BUCKET_CHECK_TTL`].
    bucket_checks: Arc<Mutex<BucketChecks>>,
    /// The account that must own every source bucket (the auditor's own, in account A): sent as
    /// `ExpectedBucketOwner` on every source-side call once known.
    source_owner: Arc<std::sync::OnceLock<String>>,
}

impl S3Probe {
    pub fn new(source: aws_sdk_s3::Config, destinations: DestinationConfigs) -> Self {
        let default = (
            Arc::new(Regional::new(destinations.default.clone())),
            destinations.default_account.clone(),
        );
        let by_account = destinations
            .by_account
            .iter()
            .map(|(account, config)| {
                (
                    Some(account.clone()),
                    (
                        Arc::new(Regional::new(config.clone())),
                        Some(account.clone()),
                    ),
                )
            })
            .collect();
        Self {
            source: Arc::new(Regional::new(source)),
            destinations: Arc::new(by_account),
            default_destination: default,
            bucket_regions: Arc::default(),
            bucket_checks: Arc::default(),
            source_owner: Arc::default(),
        }
    }

    /// The account every source bucket must belong to (S3 user guide, "Verifying bucket
    /// ownership with bucket owner condition"): a bucket of another account answers 403.
    pub fn expect_source_owner(&self, account: &str) {
        let _ = self.source_owner.set(account.to_string());
    }

    fn source_owner(&self) -> Option<&str> {
        self.source_owner.get().map(String::as_str)
    }

    /// The credentials and expected owner for a destination (see `DestinationConfigs`).
    fn destination_side<'a>(
        &'a self,
        destination: &'a Destination,
    ) -> (&'a Regional, Option<&'a str>) {
        match self.destinations.get(&destination.account) {
            Some((regional, owner)) => (regional, owner.as_deref()),
            None => (
                &self.default_destination.0,
                destination
                    .account
                    .as_deref()
                    .or(self.default_destination.1.as_deref()),
            ),
        }
    }

    fn region_of(&self, bucket: &str) -> Option<String> {
        self.bucket_regions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(bucket)
            .cloned()
    }

    fn remember_region(&self, bucket: &str, region: &str) {
        self.bucket_regions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bucket.to_string(), region.to_string());
    }

    /// HEAD of a version (or the current version), following one region redirect.
    async fn head(
        &self,
        side: &Regional,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        expected_owner: Option<&str>,
    ) -> Probe {
        let result = self
            .in_bucket_region(side, bucket, |client| {
                client
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version_id.map(str::to_string))
                    .set_expected_bucket_owner(expected_owner.map(str::to_string))
                    .send()
            })
            .await;
        let error = match result {
            Ok(output) => {
                return Probe::Found(ObjectFacts {
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
                    storage_class: output.storage_class.map(|c| c.as_str().to_string()),
                    archive_status: output.archive_status.map(|a| a.as_str().to_string()),
                })
            }
            Err(error) => error,
        };
        let Some(raw) = error.raw_response() else {
            return Probe::Failed(probe_error(&error, "HeadObject"));
        };
        let header = |name: &str| raw.headers().get(name).map(str::to_string);
        match raw.status().as_u16() {
            405 => Probe::DeleteMarker(header("x-amz-version-id")),
            404 if header("x-amz-delete-marker").as_deref() == Some("true") => {
                Probe::DeleteMarker(header("x-amz-version-id"))
            }
            404 => Probe::NotFound,
            // HeadObject API reference: a HEAD error has no body, only the status; 400 is S3's
            // answer for an SSE-C object asked without its customer key headers (a region
            // redirect, also 400, was followed above).
            400 => Probe::Failed(ProbeError {
                kind: ProbeErrorKind::BadRequest,
                ..probe_error(&error, "HeadObject")
            }),
            _ => Probe::Failed(probe_error(&error, "HeadObject")),
        }
    }

    /// Runs `call` with the client for the bucket's known region; when S3 answers that the
    /// bucket lives in another region (301/307/400 with `x-amz-bucket-region`), remembers that
    /// region for the bucket and runs `call` once more there.
    async fn in_bucket_region<T, E, F, Fut>(
        &self,
        side: &Regional,
        bucket: &str,
        call: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let known = self.region_of(bucket);
        let result = call(side.client(known.as_deref())).await;
        let moved = match &result {
            Err(error) => error
                .raw_response()
                .and_then(|raw| redirect_region(raw, side.home_region(), known.as_deref())),
            Ok(_) => None,
        };
        match moved {
            Some(region) => {
                self.remember_region(bucket, &region);
                call(side.client(Some(&region))).await
            }
            None => result,
        }
    }

    /// Whether `bucket` exists and is owned by `expected_owner` (HeadBucket, cached).
    async fn confirm_bucket(
        &self,
        side: &Regional,
        bucket: &str,
        expected_owner: Option<&str>,
    ) -> Result<(), ProbeError> {
        let cache_key = (bucket.to_string(), expected_owner.map(str::to_string));
        if let Some((checked, answer)) = self
            .bucket_checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
        {
            if checked.elapsed() < BUCKET_CHECK_TTL {
                return answer.clone();
            }
        }
        let result = self
            .in_bucket_region(side, bucket, |client| {
                client
                    .head_bucket()
                    .bucket(bucket)
                    .set_expected_bucket_owner(expected_owner.map(str::to_string))
                    .send()
            })
            .await;
        let answer = result.map(|_| ()).map_err(|error| {
            let mut failure = probe_error(&error, "HeadBucket");
            match super::error::status_of(&error) {
                Some(404) => {
                    failure.kind = ProbeErrorKind::NoSuchBucket;
                    failure.message = format!("the bucket {bucket} does not exist");
                }
                Some(403) => {
                    failure.message = format!(
                        "HeadBucket {bucket} answered 403: the bucket is not owned by account {}, or the audit role lacks s3:ListBucket on it",
                        expected_owner.unwrap_or("(not stated)")
                    );
                }
                _ => {}
            }
            failure
        });
        // Only definite answers are kept: a throttled or failed check is asked again next time.
        let definite = match &answer {
            Ok(()) => true,
            Err(e) => matches!(
                e.kind,
                ProbeErrorKind::NoSuchBucket | ProbeErrorKind::AccessDenied
            ),
        };
        if definite {
            self.bucket_checks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cache_key, (Instant::now(), answer.clone()));
        }
        answer
    }
}

/// The region a 301/307/400 answer names in `x-amz-bucket-region`, when it differs from the
/// region the request went to.
fn redirect_region(raw: &HttpResponse, home: Option<&str>, tried: Option<&str>) -> Option<String> {
    if !matches!(raw.status().as_u16(), 301 | 307 | 400) {
        return None;
    }
    let region = raw.headers().get("x-amz-bucket-region")?;
    (Some(region) != tried.or(home)).then(|| region.to_string())
}

impl ObjectProbe for S3Probe {
    async fn head_source(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Probe {
        self.head(&self.source, bucket, key, version_id, self.source_owner())
            .await
    }

    async fn head_destination(
        &self,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> Probe {
        let (side, owner) = self.destination_side(destination);
        let bucket = destination.bucket.as_str();
        match self.head(side, bucket, key, version_id, owner).await {
            Probe::NotFound => match self.confirm_bucket(side, bucket, owner).await {
                Ok(()) => Probe::NotFound,
                Err(error) => Probe::Failed(error),
            },
            other => other,
        }
    }

    async fn replication_rules(
        &self,
        bucket: &str,
    ) -> Result<Option<ReplicationRules>, ProbeError> {
        let output = match self
            .in_bucket_region(&self.source, bucket, |client| {
                client
                    .get_bucket_replication()
                    .bucket(bucket)
                    .set_expected_bucket_owner(self.source_owner().map(str::to_string))
                    .send()
            })
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
        Ok(Some(super::rules::replication_rules(configuration)))
    }

    async fn object_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        self.tags(&self.source, bucket, key, version_id, self.source_owner())
            .await
    }

    async fn explain_absence(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Absence {
        let side = &self.source;
        let owner = self.source_owner();
        match self.confirm_bucket(side, bucket, owner).await {
            Err(error) if error.kind == ProbeErrorKind::NoSuchBucket => {
                return Absence::NoSuchBucket
            }
            Err(error) => return Absence::Unknown(error.message),
            Ok(()) => {}
        }
        if version_id.is_some() {
            match self.head(side, bucket, key, None, owner).await {
                Probe::Found(facts) => {
                    return Absence::NoSuchVersion {
                        current: facts.version_id,
                    }
                }
                Probe::DeleteMarker(marker) => return Absence::NoSuchVersion { current: marker },
                _ => {}
            }
        }
        // One listing of the key's "folder" (up to 1,000 keys) finds what the person meant.
        let folder = key.rfind('/').map_or("", |slash| &key[..=slash]);
        let listed = self
            .in_bucket_region(side, bucket, |client| {
                client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(folder)
                    .set_expected_bucket_owner(owner.map(str::to_string))
                    .send()
            })
            .await;
        match listed {
            Ok(output) => Absence::NoSuchKey {
                near: crate::audit::near_keys(
                    key,
                    output.contents().iter().filter_map(|o| o.key()),
                ),
            },
            Err(error) => Absence::Unknown(probe_error(&error, "ListObjectsV2").message),
        }
    }

    async fn replica_tags(
        &self,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        let (side, owner) = self.destination_side(destination);
        self.tags(side, &destination.bucket, key, version_id, owner)
            .await
    }
}

impl S3Probe {
    /// GetObjectTagging of one version, in the order S3 lists the tags.
    async fn tags(
        &self,
        side: &Regional,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        expected_owner: Option<&str>,
    ) -> Result<Vec<(String, String)>, ProbeError> {
        let output = self
            .in_bucket_region(side, bucket, |client| {
                client
                    .get_object_tagging()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version_id.map(str::to_string))
                    .set_expected_bucket_owner(expected_owner.map(str::to_string))
                    .send()
            })
            .await
            .map_err(|error| probe_error(&error, "GetObjectTagging"))?;
        Ok(output
            .tag_set
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect())
    }
}

/// A connection that was refused or a host that does not resolve: nothing listens there.
fn refused(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "connection refused",
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn to_chrono(time: aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Classifies an SDK error; the message is its safe summary (`aws::error`): status, code,
/// message and request ids, or the chain of causes — never the raw response.
pub(crate) fn probe_error<E>(
    error: &SdkError<E, HttpResponse>,
    operation: &'static str,
) -> ProbeError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let summary = ErrorSummary::of(error);
    let message = summary.to_string();
    let kind = match (
        error,
        summary.status,
        summary.code.as_deref().unwrap_or_default(),
    ) {
        (
            SdkError::ServiceError(_),
            _,
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException",
        ) => ProbeErrorKind::Throttled,
        (SdkError::ServiceError(_), Some(503 | 429), _) => ProbeErrorKind::Throttled,
        (SdkError::ServiceError(_), Some(403), _)
        | (SdkError::ServiceError(_), _, "AccessDenied") => ProbeErrorKind::AccessDenied,
        (SdkError::ServiceError(_), Some(500..=599), _) => ProbeErrorKind::Transient,
        (SdkError::ServiceError(_), _, _) => ProbeErrorKind::Other,
        _ if mentions_credentials(&message) => ProbeErrorKind::Credentials,
        (SdkError::DispatchFailure(failure), _, _) if failure.is_io() && refused(&message) => {
            ProbeErrorKind::Unreachable
        }
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
            _,
        ) => ProbeErrorKind::Transient,
        _ => ProbeErrorKind::Other,
    };
    ProbeError {
        kind,
        operation,
        message,
        request_id: summary.request_id,
        extended_request_id: summary.extended_request_id,
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
    use crate::audit::rules::{ReplicationRule, RuleSchema};
    use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::operation::head_object::HeadObjectOutput;
    use aws_sdk_s3::types::{
        DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination as SdkDestination,
        ReplicationConfiguration, ReplicationRule as SdkRule, ReplicationRuleAndOperator,
        ReplicationRuleFilter, ReplicationRuleStatus, Tag,
    };
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn status(code: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
    }

    fn with_headers(
        mut response: HttpResponse,
        headers: &[(&'static str, &'static str)],
    ) -> HttpResponse {
        for (name, value) in headers {
            response.headers_mut().insert(*name, *value);
        }
        response
    }

    /// An S3Probe whose every client (source, each destination account, each region) answers
    /// from the same mock rules, in order.
    fn probe_in(mode: RuleMode, rules: &[&Rule]) -> S3Probe {
        let client = match mode {
            RuleMode::Sequential => mock_client!(aws_sdk_s3, RuleMode::Sequential, rules),
            _ => mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules),
        };
        let config = client
            .config()
            .to_builder()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build();
        S3Probe::new(
            config.clone(),
            DestinationConfigs {
                by_account: HashMap::from([("222222222222".to_string(), config.clone())]),
                default: config,
                default_account: None,
            },
        )
    }

    fn probe(rules: &[&Rule]) -> S3Probe {
        probe_in(RuleMode::MatchAny, rules)
    }

    fn destination() -> crate::audit::rules::Destination {
        crate::audit::rules::Destination::new("dst", Some("222222222222".into()))
    }

    #[tokio::test]
    async fn head_reads_facts_and_sends_the_expected_bucket_owner() {
        let rule = mock!(Client::head_object)
            .match_requests(|r| {
                r.bucket() == Some("dst")
                    && r.version_id() == Some("v1")
                    && r.expected_bucket_owner() == Some("222222222222")
            })
            .then_output(|| {
                HeadObjectOutput::builder()
                    .version_id("v1")
                    .content_length(10)
                    .replication_status(aws_sdk_s3::types::ReplicationStatus::Replica)
                    .build()
            });
        let found = probe(&[&rule])
            .head_destination(&destination(), "k", Some("v1"))
            .await;
        assert!(matches!(found, Probe::Found(f) if f.size == Some(10)));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_delete_marker_answers_405_on_its_version_and_404_with_a_header_as_current() {
        let version = mock!(Client::head_object)
            .match_requests(|r| r.version_id().is_some())
            .then_http_response(|| {
                with_headers(
                    status(405, ""),
                    &[("x-amz-delete-marker", "true"), ("x-amz-version-id", "dm1")],
                )
            });
        let current = mock!(Client::head_object)
            .match_requests(|r| r.version_id().is_none())
            .then_http_response(|| {
                with_headers(
                    status(404, ""),
                    &[("x-amz-delete-marker", "true"), ("x-amz-version-id", "dm2")],
                )
            });
        let probe = probe(&[&version, &current]);
        assert_eq!(
            probe.head_source("src", "k", Some("dm1")).await,
            Probe::DeleteMarker(Some("dm1".into()))
        );
        assert_eq!(
            probe.head_destination(&destination(), "k", None).await,
            Probe::DeleteMarker(Some("dm2".into()))
        );
    }

    #[tokio::test]
    async fn a_404_is_not_found_only_once_the_bucket_is_confirmed_and_the_answer_is_cached() {
        let missing = mock!(Client::head_object).then_http_response(|| status(404, ""));
        let bucket = mock!(Client::head_bucket)
            .match_requests(|r| r.expected_bucket_owner() == Some("222222222222"))
            .then_output(|| HeadBucketOutput::builder().build());
        let probe = probe(&[&missing, &bucket]);
        for key in ["a", "b"] {
            assert_eq!(
                probe.head_destination(&destination(), key, Some("v")).await,
                Probe::NotFound
            );
        }
        assert_eq!(bucket.num_calls(), 1, "one HeadBucket per bucket, cached");
    }

    #[tokio::test]
    async fn a_missing_destination_bucket_is_an_error_naming_it() {
        let missing = mock!(Client::head_object).then_http_response(|| status(404, ""));
        let bucket = mock!(Client::head_bucket).then_http_response(|| status(404, ""));
        let probe = probe(&[&missing, &bucket]);
        match probe.head_destination(&destination(), "k", Some("v")).await {
            Probe::Failed(error) => {
                assert_eq!(error.kind, ProbeErrorKind::NoSuchBucket);
                assert!(error.message.contains("dst does not exist"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_bucket_in_another_region_is_followed_through_x_amz_bucket_region() {
        let moved = mock!(Client::head_object).then_http_response(|| {
            with_headers(status(301, ""), &[("x-amz-bucket-region", "eu-west-1")])
        });
        let found = mock!(Client::head_object)
            .then_output(|| HeadObjectOutput::builder().version_id("v1").build());
        let probe = probe_in(RuleMode::Sequential, &[&moved, &found]);
        assert!(matches!(
            probe.head_source("src", "k", Some("v1")).await,
            Probe::Found(_)
        ));
        assert_eq!(probe.region_of("src").as_deref(), Some("eu-west-1"));
    }

    #[tokio::test]
    async fn errors_keep_aws_request_ids_and_403_stays_access_denied() {
        let denied = mock!(Client::head_object).then_http_response(|| {
            with_headers(
                status(403, ""),
                &[("x-amz-request-id", "REQ123"), ("x-amz-id-2", "HOST456")],
            )
        });
        match probe(&[&denied]).head_source("src", "k", None).await {
            Probe::Failed(error) => {
                assert_eq!(error.kind, ProbeErrorKind::AccessDenied);
                assert_eq!(error.request_id.as_deref(), Some("REQ123"));
                assert_eq!(error.extended_request_id.as_deref(), Some("HOST456"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
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
            let destination = |bucket: &str| {
                SdkDestination::builder()
                    .bucket(bucket)
                    .account("222222222222")
                    .build()
                    .unwrap()
            };
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
                .delete_marker_replication(
                    DeleteMarkerReplication::builder()
                        .status(DeleteMarkerReplicationStatus::Enabled)
                        .build(),
                )
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
        assert_eq!(rules.role_arn, "arn:aws:iam::1:role/r");
        assert_eq!(
            rules.rules,
            vec![
                ReplicationRule {
                    id: Some("images".into()),
                    priority: Some(3),
                    enabled: true,
                    schema: RuleSchema::V2,
                    prefix: "img/".into(),
                    tags: vec![("replicate".into(), "yes".into())],
                    delete_marker_replication: Some(true),
                    destination_bucket: "dst".into(),
                    destination_account: Some("222222222222".into()),
                    ..ReplicationRule::default()
                },
                ReplicationRule {
                    id: None,
                    priority: None,
                    enabled: false,
                    schema: RuleSchema::V1,
                    prefix: "logs/".into(),
                    tags: Vec::new(),
                    delete_marker_replication: None,
                    destination_bucket: "old".into(),
                    destination_account: Some("222222222222".into()),
                    ..ReplicationRule::default()
                },
            ]
        );
    }
}
