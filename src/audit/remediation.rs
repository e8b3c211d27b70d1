//! What to do about a finding: S3 replication failure reasons and probe errors → hints.

/// A hint for S3's replication `failureReason` codes (S3 user guide, "Replication failure
/// reasons"); `None` for codes we have no specific advice for.
pub fn for_failure_reason(code: &str) -> Option<&'static str> {
    Some(match code {
        "AssumeRoleNotPermitted" => "S3 cannot assume the replication role: check the role exists in the source account and trusts s3.amazonaws.com (and batchoperations.s3.amazonaws.com for Batch Replication).",
        "DstBucketNotFound" => "The destination bucket in the replication rule does not exist: check the bucket ARN in the rule.",
        "DstBucketUnversioned" => "Enable versioning on the destination bucket.",
        "DstPutObjectNotPermitted" | "DstMultipartInitNotPermitted" | "DstMultipartUploadNotPermitted" | "DstMultipartCompleteNotPermitted" => "The destination refused the write: its bucket policy must allow s3:ReplicateObject (and s3:ReplicateDelete, s3:ReplicateTags) to the source account's id (arn:aws:iam::<SOURCE_ACCOUNT_ID>:root) or the replication role — not the destination account's own id, a typo'd id or the source bucket's name — on arn:aws:s3:::<DESTINATION_BUCKET>/*, and the replication role must allow s3:ReplicateObject on the destination. `replication-auditor doctor` names the wrong value.",
        "DstPutObjectAclNotPermitted" => "Grant s3:ObjectOwnerOverrideToBucketOwner in the destination bucket policy, or set the destination's Object Ownership to bucket owner enforced.",
        "DstPutTaggingNotPermitted" => "Allow s3:ReplicateTags to the source account in the destination bucket policy and to the replication role.",
        "DstObjectHardDeleted" | "DstDelObjNotPermitted" => "Allow s3:ReplicateDelete in the destination bucket policy and the replication role.",
        "DstKmsKeyInvalidState" | "DstKmsKeyNotFound" => "The destination KMS key is disabled, pending deletion or missing: check the key in the rule's ReplicaKmsKeyID.",
        "DstKmsKeyAccessDenied" | "SrcKmsKeyAccessDenied" | "SrcKmsKeyInvalidState" => "The replication role cannot use the KMS key: allow kms:Decrypt (source key) / kms:Encrypt (destination key) to the replication role in the key policies.",
        "SrcGetObjectNotPermitted" | "SrcHeadObjectNotPermitted" | "SrcGetTaggingNotPermitted" | "SrcGetAclNotPermitted" => "The replication role cannot read the source object: allow s3:GetObjectVersionForReplication, s3:GetObjectVersionAcl and s3:GetObjectVersionTagging on the source bucket's objects.",
        "SrcObjectNotEligible" => "This object is not eligible for replication (e.g. encrypted with SSE-C, or created by replication): change how it is written or exclude it from the rule.",
        "DstBucketObjectLockConfigMissing" => "The source has Object Lock: enable Object Lock on the destination bucket as well.",
        "DstPutLegalHoldNotPermitted" | "DstPutRetentionNotPermitted" => "Allow s3:PutObjectLegalHold / s3:PutObjectRetention on the destination to the replication role.",
        _ => return None,
    })
}

/// Generic advice for a FAILED status read by HEAD (no failure reason available).
pub const FAILED_WITHOUT_REASON: &str = "Enable replication metrics and s3:Replication:OperationFailedReplication event notifications to get S3's failure reason; meanwhile check the destination bucket policy principal (account id, not bucket name), the replication role's permissions and KMS key policies, then re-replicate with S3 Batch Replication.";

pub const MISSING: &str = "S3 reports COMPLETED but the destination has no such version: check whether it was deleted in the destination (lifecycle rule, a person, a delete without versioning) and re-copy it with S3 Batch Replication.";

pub const MISMATCH: &str = "Something wrote to or deleted from the destination after replication: find who (CloudTrail data events, lifecycle rules) and make replicas read-only (a bucket policy denying s3:PutObject/s3:DeleteObject to everyone but the replication principal, or Object Lock); restore the version with a copy or by deleting the delete marker.";

pub const DELETE_MARKER_LATE: &str = "The rule replicates delete markers but this one has not arrived: check that the destination bucket policy and the replication role allow s3:ReplicateDelete, and S3's OperationFailedReplication events for the reason.";

pub const NO_SUCH_BUCKET: &str = "The destination bucket named by the replication rule (or AUDITOR_DESTINATION_BUCKET) does not exist, or is not owned by the expected account: fix the rule's destination or create the bucket (versioning enabled).";

pub const LATE: &str = "Replication is slower than the SLA: check S3 replication metrics (OperationsPendingReplication, ReplicationLatency), KMS throttling and the destination's request rate; if it stays PENDING, the rule or permissions may be broken.";

pub const UNREPLICATED_NOT_COVERED: &str = "No enabled replication rule covers this key: widen the rule's filter, or set AUDITOR_ALARM_ON_UNREPLICATED=false if such keys are expected to stay in the source only.";

pub const UNREPLICATED_COVERED: &str = "A rule covers this key but S3 set no replication status: the object was probably written before the rule was enabled. Replicate existing objects with S3 Batch Replication.";

pub const DENIED_DESTINATION: &str = "The audit role got 403 on the destination: grant it s3:GetObject, s3:GetObjectVersion and s3:ListBucket on the destination bucket (without ListBucket a missing object also answers 403), and check that the destination bucket policy and KMS key policy do not deny it. A 403 also answers a request whose ExpectedBucketOwner is not the bucket's owner: check the rule's Destination.Account.";

pub const DENIED_SOURCE: &str = "The auditor's role got 403 on the source: grant it s3:GetObject, s3:GetObjectVersion and s3:ListBucket on the source bucket.";

pub const CREDENTIALS: &str = "The auditor could not assume the destination audit role: check AUDITOR_DESTINATION_ROLE_ARN and AUDITOR_EXTERNAL_ID, the role's trust policy (the auditor's role ARN and the sts:ExternalId condition) and the auditor role's sts:AssumeRole permission.";

pub const THROTTLED: &str = "S3 throttled the audit after retries: the item is retried; lower AUDITOR_MAX_CONCURRENCY if this persists.";

pub const TRANSIENT: &str = "A network or service error stopped the audit; the item is retried.";
