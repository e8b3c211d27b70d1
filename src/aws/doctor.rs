//! Reads a replication setup from both accounts for live `doctor` and hands the pure checks
//! (`crate::doctor::live`) domain facts.
//!
//! Account A is read with the caller's credentials: the source bucket's versioning, replication,
//! encryption and notification configuration, a HEAD of a key that surely does not exist, and the
//! replication role (GetRole, ListRolePolicies/GetRolePolicy, ListAttachedRolePolicies/GetPolicy/
//! GetPolicyVersion). Each destination is read through the audit role (HeadBucket with
//! ExpectedBucketOwner, versioning, bucket policy, ownership controls, the same HEAD). Only
//! configuration is read: no object bodies, no writes. A refused read becomes an access problem
//! naming the permission (exit 2); the checks that needed it are left out, not guessed.

use super::error::status_of;
use super::{assume_role, uses_custom_endpoint};
use crate::config::Config;
use crate::doctor::live::{
    arn_account, DestinationFacts, Encryption, Existence, LifecycleTransition, LiveFacts,
    MissingKeyHead, Notifications, RoleFacts, SourceExistence, SourceFacts, Versioning,
};
use crate::doctor::Report;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{BucketVersioningStatus, ExpirationStatus};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::collections::BTreeSet;

/// A key no one writes: its HEAD tells 404 (ListBucket granted) from 403.
const MISSING_KEY: &str = "replication-auditor-doctor/surely-missing-key";

/// Reads both accounts and judges them.
pub async fn run(config: &Config, source_bucket: &str) -> Result<Report, super::SetupError> {
    let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
    super::check_setup(&base).await?;
    let reader = Reader::new(&base, config).await;
    Ok(crate::doctor::live::judge(
        &reader.read(source_bucket).await,
    ))
}

/// Who reads the source bucket, for the access problems doctor names.
const SOURCE_CALLER: &str = "the caller (account A)";

pub(super) struct Reader {
    source: aws_sdk_s3::Client,
    /// The caller's account: the expected owner of the source bucket (`ExpectedBucketOwner` on
    /// every read of it).
    source_account: Option<String>,
    iam: aws_sdk_iam::Client,
    destination: aws_sdk_s3::Client,
    audit_role: Option<String>,
    /// The assumed-role provider, asked once up front so a refused AssumeRole is named.
    audit_credentials: Option<SharedCredentialsProvider>,
}

/// How a failed read is reported: the operation, on what, and the permission to grant.
fn problem<E>(error: &SdkError<E, HttpResponse>, permission: &str, on: &str, who: &str) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let status = status_of(error);
    let code = error.code().unwrap_or_default();
    let detail: String = super::error::ErrorSummary::of(error)
        .to_string()
        .chars()
        .take(300)
        .collect();
    if status == Some(403) || code.contains("AccessDenied") {
        format!("{permission} on {on} was refused for {who}: grant {permission} on {on} to {who}")
    } else if detail.to_ascii_lowercase().contains("assumerole")
        || detail.to_ascii_lowercase().contains("credentials")
    {
        format!("{who} could not be used for {permission} on {on}: {detail}")
    } else {
        format!("{permission} on {on} failed: {detail}")
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); emulators sometimes do not.
fn decode_document(text: &str) -> String {
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return text.to_string();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

impl Reader {
    pub(super) async fn new(base: &SdkConfig, config: &Config) -> Self {
        let path_style = uses_custom_endpoint(base);
        let s3 = |builder: aws_sdk_s3::config::Builder| {
            aws_sdk_s3::Client::from_conf(builder.force_path_style(path_style).build())
        };
        let mut destination = aws_sdk_s3::config::Builder::from(base);
        let mut audit_credentials = None;
        if let Some(role_arn) = &config.destination_role_arn {
            let provider = assume_role(base, role_arn, config.external_id.as_deref()).await;
            audit_credentials = Some(provider.clone());
            destination = destination.credentials_provider(provider);
        }
        Self {
            source: s3(aws_sdk_s3::config::Builder::from(base)),
            source_account: super::caller_account(base).await,
            iam: aws_sdk_iam::Client::new(base),
            destination: s3(destination),
            audit_role: config.destination_role_arn.clone(),
            audit_credentials,
        }
    }

    pub(super) async fn read(&self, bucket: &str) -> LiveFacts {
        let mut problems = Vec::new();
        let source = self.read_source(bucket, &mut problems).await;
        let mut role = None;
        let mut destinations = Vec::new();
        let assumed = self.assume_audit_role().await;
        if let Some(Err(message)) = &assumed {
            problems.push(message.clone());
        }
        if let Some(replication) = &source.replication {
            role = self.read_role(&replication.role_arn, &mut problems).await;
            let role_account = arn_account(&replication.role_arn).unwrap_or_default();
            let mut seen = BTreeSet::new();
            let blind = matches!(assumed, Some(Err(_)));
            for rule in replication.rules.iter().filter(|_| !blind) {
                if !seen.insert(rule.destination_bucket.clone()) {
                    continue;
                }
                let expected = rule
                    .destination_account
                    .clone()
                    .or_else(|| {
                        self.audit_role
                            .as_deref()
                            .and_then(arn_account)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| role_account.to_string());
                destinations.push(
                    self.read_destination(&rule.destination_bucket, expected, &mut problems)
                        .await,
                );
            }
        }
        LiveFacts {
            source,
            role,
            destinations,
            audit_role: self.audit_role.clone().zip(assumed),
            access_problems: problems,
        }
    }

    /// None without an audit role; else whether STS let the caller assume it.
    async fn assume_audit_role(&self) -> Option<Result<(), String>> {
        let role = self.audit_role.as_deref()?;
        let provider = self.audit_credentials.as_ref()?;
        Some(provider.provide_credentials().await.map(|_| ()).map_err(|error| {
            format!(
                "cannot assume the audit role {role}: {}; grant sts:AssumeRole on {role} to the caller, and check the role's trust policy and external id (AUDITOR_EXTERNAL_ID)",
                crate::ports::DisplayChain(&error).to_string().chars().take(300).collect::<String>()
            )
        }))
    }

    async fn read_source(&self, bucket: &str, problems: &mut Vec<String>) -> SourceFacts {
        let existence = self.source_existence(bucket).await;
        if matches!(
            existence,
            SourceExistence::Missing
                | SourceExistence::OtherRegion { .. }
                | SourceExistence::NotInAccount(_)
        ) {
            return SourceFacts {
                bucket: bucket.to_string(),
                existence,
                versioning: None,
                replication: None,
                replication_read: false,
                encryption: None,
                lifecycle: None,
                notifications: None,
                missing_key_head: None,
            };
        }
        let owner = self.source_account.as_deref();
        let on = format!("arn:aws:s3:::{bucket}");
        let versioning =
            bucket_versioning(&self.source, bucket, owner, &on, SOURCE_CALLER, problems).await;
        let (replication, replication_read) = self.source_replication(bucket, problems).await;
        SourceFacts {
            bucket: bucket.to_string(),
            existence,
            versioning,
            replication,
            replication_read,
            encryption: self.source_encryption(bucket, problems).await,
            lifecycle: self.source_lifecycle(bucket, problems).await,
            notifications: self.source_notifications(bucket, problems).await,
            missing_key_head: Some(missing_key_head(&self.source, bucket, owner).await),
        }
    }

    /// The replication configuration, and whether it could be read (`None, true`: there is none).
    async fn source_replication(
        &self,
        bucket: &str,
        problems: &mut Vec<String>,
    ) -> (Option<crate::audit::rules::ReplicationRules>, bool) {
        match self
            .source
            .get_bucket_replication()
            .bucket(bucket)
            .set_expected_bucket_owner(self.source_account.clone())
            .send()
            .await
        {
            Ok(out) => (
                out.replication_configuration
                    .map(super::rules::replication_rules),
                true,
            ),
            Err(e) if e.code() == Some("ReplicationConfigurationNotFoundError") => (None, true),
            Err(e) => {
                let on = format!("arn:aws:s3:::{bucket}");
                problems.push(problem(
                    &e,
                    "s3:GetReplicationConfiguration",
                    &on,
                    SOURCE_CALLER,
                ));
                (None, false)
            }
        }
    }

    /// Default encryption (`None`: none, or unreadable with the problem named).
    async fn source_encryption(
        &self,
        bucket: &str,
        problems: &mut Vec<String>,
    ) -> Option<Encryption> {
        match self
            .source
            .get_bucket_encryption()
            .bucket(bucket)
            .set_expected_bucket_owner(self.source_account.clone())
            .send()
            .await
        {
            Ok(out) => out
                .server_side_encryption_configuration
                .and_then(|c| c.rules.into_iter().next())
                .and_then(|r| r.apply_server_side_encryption_by_default)
                .map(|d| Encryption {
                    algorithm: d.sse_algorithm.as_str().to_string(),
                    kms_key: d.kms_master_key_id,
                }),
            Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => None,
            Err(e) => {
                let on = format!("arn:aws:s3:::{bucket}");
                problems.push(problem(
                    &e,
                    "s3:GetEncryptionConfiguration",
                    &on,
                    SOURCE_CALLER,
                ));
                None
            }
        }
    }

    /// The lifecycle rules' transitions (`Some(empty)`: no lifecycle; `None`: unreadable).
    async fn source_lifecycle(
        &self,
        bucket: &str,
        problems: &mut Vec<String>,
    ) -> Option<Vec<LifecycleTransition>> {
        match self
            .source
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .set_expected_bucket_owner(self.source_account.clone())
            .send()
            .await
        {
            Ok(out) => Some(lifecycle_transitions(out.rules())),
            Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Some(Vec::new()),
            Err(e) => {
                let on = format!("arn:aws:s3:::{bucket}");
                problems.push(problem(
                    &e,
                    "s3:GetLifecycleConfiguration",
                    &on,
                    SOURCE_CALLER,
                ));
                None
            }
        }
    }

    /// Where object-created events go (queues, topics, functions, EventBridge).
    async fn source_notifications(
        &self,
        bucket: &str,
        problems: &mut Vec<String>,
    ) -> Option<Notifications> {
        let out = match self
            .source
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .set_expected_bucket_owner(self.source_account.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let on = format!("arn:aws:s3:::{bucket}");
                problems.push(problem(&e, "s3:GetBucketNotification", &on, SOURCE_CALLER));
                return None;
            }
        };
        let created = |events: &[aws_sdk_s3::types::Event]| {
            events
                .iter()
                .any(|e| e.as_str().starts_with("s3:ObjectCreated:"))
        };
        let queues = out
            .queue_configurations()
            .iter()
            .filter(|q| created(q.events()))
            .map(|q| q.queue_arn.clone());
        let topics = out
            .topic_configurations()
            .iter()
            .filter(|t| created(t.events()))
            .map(|t| t.topic_arn.clone());
        let functions = out
            .lambda_function_configurations()
            .iter()
            .filter(|l| created(l.events()))
            .map(|l| l.lambda_function_arn.clone());
        Some(Notifications {
            object_created_to: queues.chain(topics).chain(functions).collect(),
            eventbridge: out.event_bridge_configuration.is_some(),
        })
    }

    /// HeadBucket of the source: missing (404), in another region (`x-amz-bucket-region`
    /// on a 301/400), or readable as far as doctor can tell.
    async fn source_existence(&self, bucket: &str) -> SourceExistence {
        match self
            .source
            .head_bucket()
            .bucket(bucket)
            .set_expected_bucket_owner(self.source_account.clone())
            .send()
            .await
        {
            Ok(_) => SourceExistence::Exists,
            Err(e) => {
                let raw = e.raw_response();
                let region = raw
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(str::to_string);
                let configured = self
                    .source
                    .config()
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                match (status_of(&e), region) {
                    (Some(404), _) => SourceExistence::Missing,
                    (Some(403), None) if self.source_account.is_some() => {
                        SourceExistence::NotInAccount(
                            self.source_account.clone().unwrap_or_default(),
                        )
                    }
                    (Some(301 | 400), Some(bucket_region)) if bucket_region != configured => {
                        SourceExistence::OtherRegion {
                            bucket_region,
                            configured,
                        }
                    }
                    _ => SourceExistence::Unknown(super::error::ErrorSummary::of(&e).to_string()),
                }
            }
        }
    }

    async fn read_role(&self, role_arn: &str, problems: &mut Vec<String>) -> Option<RoleFacts> {
        let me = "the caller (account A)";
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let trust_policy = match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out
                .role
                .and_then(|r| r.assume_role_policy_document)
                .map(|d| decode_document(&d)),
            Err(e) if e.code() == Some("NoSuchEntity") => {
                return Some(RoleFacts {
                    arn: role_arn.to_string(),
                    trust_policy: None,
                    policies: Vec::new(),
                })
            }
            Err(e) => {
                problems.push(problem(&e, "iam:GetRole", role_arn, me));
                return None;
            }
        };
        let mut policies = Vec::new();
        match self.iam.list_role_policies().role_name(name).send().await {
            Ok(out) => {
                for policy_name in out.policy_names {
                    match self
                        .iam
                        .get_role_policy()
                        .role_name(name)
                        .policy_name(&policy_name)
                        .send()
                        .await
                    {
                        Ok(p) => policies.push((
                            format!("inline policy {policy_name:?}"),
                            decode_document(&p.policy_document),
                        )),
                        Err(e) => problems.push(problem(&e, "iam:GetRolePolicy", role_arn, me)),
                    }
                }
            }
            Err(e) => problems.push(problem(&e, "iam:ListRolePolicies", role_arn, me)),
        }
        match self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
        {
            Ok(out) => {
                for attached in out.attached_policies() {
                    let Some(arn) = attached.policy_arn.as_deref() else {
                        continue;
                    };
                    match self.attached_document(arn).await {
                        Ok(Some(document)) => {
                            policies.push((format!("managed policy {arn}"), document))
                        }
                        Ok(None) => {}
                        Err(message) => problems.push(message),
                    }
                }
            }
            Err(e) => problems.push(problem(&e, "iam:ListAttachedRolePolicies", role_arn, me)),
        }
        Some(RoleFacts {
            arn: role_arn.to_string(),
            trust_policy,
            policies,
        })
    }

    async fn attached_document(&self, arn: &str) -> Result<Option<String>, String> {
        let me = "the caller (account A)";
        let policy = self
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| problem(&e, "iam:GetPolicy", arn, me))?;
        let Some(version) = policy.policy.and_then(|p| p.default_version_id) else {
            return Ok(None);
        };
        let version = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| problem(&e, "iam:GetPolicyVersion", arn, me))?;
        Ok(version
            .policy_version
            .and_then(|v| v.document)
            .map(|d| decode_document(&d)))
    }

    /// HeadBucket with the rule's account as the expected owner: a 403 is "not in that account".
    async fn destination_existence(
        &self,
        bucket: &str,
        expected_account: &str,
        who: &str,
        problems: &mut Vec<String>,
    ) -> Existence {
        match self
            .destination
            .head_bucket()
            .bucket(bucket)
            .expected_bucket_owner(expected_account)
            .send()
            .await
        {
            Ok(_) => Existence::Exists,
            Err(e) => match status_of(&e) {
                Some(404) => Existence::Missing,
                Some(403) => Existence::NotInAccount,
                _ => {
                    let on = format!("arn:aws:s3:::{bucket}");
                    let message = problem(&e, "s3:ListBucket (HeadBucket)", &on, who);
                    problems.push(message.clone());
                    Existence::Unknown(message)
                }
            },
        }
    }

    async fn read_destination(
        &self,
        bucket: &str,
        expected_account: String,
        problems: &mut Vec<String>,
    ) -> DestinationFacts {
        let who = match &self.audit_role {
            Some(role) => format!("the audit role {role}"),
            None => "the caller".to_string(),
        };
        let on = format!("arn:aws:s3:::{bucket}");
        let existence = self
            .destination_existence(bucket, &expected_account, &who, problems)
            .await;
        let mut facts = DestinationFacts {
            bucket: bucket.to_string(),
            expected_account,
            existence,
            versioning: None,
            policy: None,
            policy_read: false,
            ownership: None,
            missing_key_head: None,
        };
        // A bucket that is not in the rule's account is not read further: its configuration
        // would be someone else's.
        if matches!(
            facts.existence,
            Existence::Missing | Existence::NotInAccount
        ) {
            return facts;
        }
        let d = &self.destination;
        let owner = Some(facts.expected_account.as_str());
        facts.versioning = bucket_versioning(d, bucket, owner, &on, &who, problems).await;
        match d
            .get_bucket_policy()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
        {
            Ok(out) => {
                facts.policy = out.policy;
                facts.policy_read = true;
            }
            Err(e) if e.code() == Some("NoSuchBucketPolicy") => facts.policy_read = true,
            Err(e) => problems.push(problem(&e, "s3:GetBucketPolicy", &on, &who)),
        }
        match d
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
        {
            Ok(out) => {
                facts.ownership = out
                    .ownership_controls
                    .and_then(|c| c.rules.into_iter().next())
                    .map(|r| r.object_ownership.as_str().to_string())
            }
            Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => {}
            Err(e) => problems.push(problem(&e, "s3:GetBucketOwnershipControls", &on, &who)),
        }
        facts.missing_key_head = Some(missing_key_head(d, bucket, owner).await);
        facts
    }
}

async fn bucket_versioning(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    owner: Option<&str>,
    on: &str,
    who: &str,
    problems: &mut Vec<String>,
) -> Option<Versioning> {
    match client
        .get_bucket_versioning()
        .bucket(bucket)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .send()
        .await
    {
        Ok(out) => Some(match out.status {
            Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
            Some(_) => Versioning::Suspended,
            None => Versioning::Never,
        }),
        Err(e) => {
            problems.push(problem(&e, "s3:GetBucketVersioning", on, who));
            None
        }
    }
}

async fn missing_key_head(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    owner: Option<&str>,
) -> MissingKeyHead {
    match client
        .head_object()
        .bucket(bucket)
        .key(MISSING_KEY)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .send()
        .await
    {
        Ok(_) => MissingKeyHead::Other(format!("{MISSING_KEY} exists")),
        Err(e) => match status_of(&e) {
            Some(404) => MissingKeyHead::NotFound,
            Some(403) => MissingKeyHead::Forbidden,
            _ => MissingKeyHead::Other(super::error::ErrorSummary::of(&e).to_string()),
        },
    }
}

/// The transitions of a bucket's enabled lifecycle rules, each with the rule's key prefix.
fn lifecycle_transitions(rules: &[aws_sdk_s3::types::LifecycleRule]) -> Vec<LifecycleTransition> {
    rules
        .iter()
        .filter(|r| r.status == ExpirationStatus::Enabled)
        .flat_map(|rule| {
            let filter = rule.filter.as_ref();
            #[allow(deprecated)]
            let prefix = filter
                .and_then(|f| f.and.as_ref().and_then(|a| a.prefix.clone()))
                .or_else(|| filter.and_then(|f| f.prefix.clone()))
                .or_else(|| rule.prefix.clone())
                .unwrap_or_default();
            rule.transitions().iter().map(move |t| LifecycleTransition {
                rule_id: rule.id.clone(),
                prefix: prefix.clone(),
                storage_class: t
                    .storage_class
                    .as_ref()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
                days: t.date.is_none().then_some(t.days.unwrap_or(0)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The adapter's mapping of SDK values to doctor's domain, GIVEN what S3 and IAM return.
    use super::*;

    #[test]
    fn iam_documents_are_url_decoded_and_plain_json_is_kept() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(decode_document(plain), plain);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_document(encoded), plain);
    }
}
