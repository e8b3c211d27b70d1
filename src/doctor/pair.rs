//! One replication pair as doctor knows it (source bucket in account A, destination in B),
//! and what replication needs of the destination.

use super::policy::Context;
use super::Status;

/// What doctor knows about one pair: source bucket in account A replicating into B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub source_account: String,
    pub destination_account: String,
    pub source_bucket: String,
    pub destination_bucket: String,
    /// The replication role, when known (live: the configuration's `Role`).
    pub role_arn: Option<String>,
    /// Whether the rule replicates delete markers (None: unknown, offline).
    pub delete_markers: Option<bool>,
    /// Whether the rule changes replica ownership (`AccessControlTranslation`; None: unknown).
    pub owner_override: Option<bool>,
}

impl Pair {
    pub(super) fn source_bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.source_bucket)
    }
    pub(super) fn destination_bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.destination_bucket)
    }
    /// A key no one would write: any object ARN under the bucket.
    pub(super) fn source_object(&self) -> String {
        format!("arn:aws:s3:::{}/doctor/any-key", self.source_bucket)
    }
    pub(super) fn destination_object(&self) -> String {
        format!("arn:aws:s3:::{}/doctor/any-key", self.destination_bucket)
    }
    pub(super) fn source_root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.source_account)
    }

    /// What is certain about every replication request: S3 makes it over TLS, as the role.
    pub(super) fn context(&self, role_arn: &str) -> Context {
        Context::default()
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalAccount", &self.source_account)
            .with("aws:PrincipalArn", role_arn)
    }
}

/// Replication's needs on the destination objects: (action, status when missing, why).
pub(super) fn destination_needs(pair: &Pair) -> Vec<(&'static str, Status, &'static str)> {
    let mut needs = vec![
        (
            "s3:ReplicateObject",
            Status::Fail,
            "S3 writes every replica with it",
        ),
        (
            "s3:ReplicateTags",
            Status::Warn,
            "objects with tags fail to replicate without it",
        ),
    ];
    match pair.delete_markers {
        Some(true) => needs.push((
            "s3:ReplicateDelete",
            Status::Fail,
            "the rule replicates delete markers",
        )),
        None => needs.push((
            "s3:ReplicateDelete",
            Status::Warn,
            "needed when the rule replicates delete markers",
        )),
        Some(false) => {}
    }
    match pair.owner_override {
        Some(true) => needs.push((
            "s3:ObjectOwnerOverrideToBucketOwner",
            Status::Fail,
            "the rule gives replicas to the destination owner (AccessControlTranslation)",
        )),
        None => needs.push((
            "s3:ObjectOwnerOverrideToBucketOwner",
            Status::Warn,
            "needed when the rule changes replica ownership to the destination owner",
        )),
        Some(false) => {}
    }
    needs
}
