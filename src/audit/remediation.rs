//! What to do about a finding: the fixes of the verdicts other than S3's own failure reasons
//! (those are in `failure_codes`).

/// Generic advice for a FAILED status read by HEAD (no failure reason available).
pub const FAILED_WITHOUT_REASON: &str = "Enable replication metrics and s3:Replication:OperationFailedReplication event notifications to get S3's failure reason; meanwhile check the destination bucket policy principal (account id, not bucket name), the replication role's permissions and KMS key policies, then re-replicate with S3 Batch Replication.";

pub const FAILED_UNKNOWN_CODE: &str = "This failure reason is not one of S3's documented codes (Amazon S3 User Guide, \"Amazon S3 replication failure reasons\"): treat the event with suspicion — check that only S3 can send to the auditor's queue — and look at the object's replication status in the S3 console.";

pub const TAGS_LATE: &str = "S3 replicates tag changes after the object: the destination bucket policy and the replication role must allow s3:ReplicateTags (and the role s3:GetObjectVersionTagging on the source); S3's OperationFailedReplication event (DstPutTaggingNotPermitted) names the cause when replication metrics are on. Put the tags on the source version again once fixed.";

pub const MISSING: &str = "S3 reports COMPLETED but the destination has no such version: either it was deleted in the destination (lifecycle rule, a person: CloudTrail data events say who), or the rule's destination changed after this version replicated to the old one (S3 does not replicate it again to a new destination). Replicate it to this destination with S3 Batch Replication (a replica deleted by version id needs a copy in place instead).";

pub const INELIGIBLE_KMS: &str = "Add SourceSelectionCriteria.SseKmsEncryptedObjects.Status=Enabled to the rule and a Destination.EncryptionConfiguration.ReplicaKmsKeyID (a KMS key in the destination's Region); let the replication role kms:Decrypt with the source key and kms:Encrypt with the replica key, in its policy and in both key policies. Then replicate the objects written meanwhile with S3 Batch Replication.";

pub const INELIGIBLE_ARCHIVE: &str = "S3 never replicates objects stored in S3 Glacier Flexible Retrieval, S3 Glacier Deep Archive or the Intelligent-Tiering archive tiers: restore the object and copy it to a replicated storage class (the copy replicates), or write such objects to a class that replicates (GLACIER_IR, or STANDARD with a lifecycle transition after replication).";

pub const UNVERIFIABLE_SSE_C: &str = "S3 replicates SSE-C objects, but it shows their replication status only to a HEAD carrying the customer key, which the auditor never holds. Check them from S3 Inventory (its ReplicationStatus and EncryptionStatus fields list SSE-C objects): `replication-auditor reconcile`. If the version id was typed by hand, check it.";

pub const LIFECYCLE_DELETE_MARKER: &str = "Nothing to fix: S3 never replicates delete markers that S3 Lifecycle expiration creates, even under DeleteMarkerReplication.";

pub const MISMATCH: &str = "Something wrote to or deleted from the destination after replication: find who (CloudTrail data events, lifecycle rules) and make replicas read-only (a bucket policy denying s3:PutObject/s3:DeleteObject to everyone but the replication principal, or Object Lock); restore the version with a copy or by deleting the delete marker.";

pub const DELETE_MARKER_LATE: &str = "The rule replicates delete markers but this one has not arrived: check that the destination bucket policy and the replication role allow s3:ReplicateDelete, and S3's OperationFailedReplication events for the reason. A delete marker that S3 Lifecycle expiration created is never replicated: if a lifecycle rule of the source bucket expires this key, that is the reason.";

pub const NO_SUCH_BUCKET: &str = "The destination bucket named by the replication rule (or AUDITOR_DESTINATION_BUCKET) does not exist, or is not owned by the expected account: fix the rule's destination or create the bucket (versioning enabled).";

pub const LATE: &str = "Replication is slower than the SLA: check S3 replication metrics (OperationsPendingReplication, ReplicationLatency), KMS throttling and the destination's request rate; if it stays PENDING, the rule or permissions may be broken.";

pub const UNREPLICATED_NOT_COVERED: &str = "No enabled replication rule covers this key: widen the rule's filter, or set AUDITOR_ALARM_ON_UNREPLICATED=false if such keys are expected to stay in the source only.";

pub const UNREPLICATED_COVERED: &str = "A rule covers this key but S3 set no replication status: the object was probably written before the rule was enabled. Replicate existing objects with S3 Batch Replication.";

pub const DENIED_DESTINATION: &str = "The audit role got 403 on the destination: grant it s3:GetObject, s3:GetObjectVersion and s3:ListBucket on the destination bucket (without ListBucket a missing object also answers 403), and check that the destination bucket policy and KMS key policy do not deny it. A 403 also answers a request whose ExpectedBucketOwner is not the bucket's owner: check the rule's Destination.Account.";

pub const DENIED_SOURCE: &str = "The auditor's role got 403 on the source: grant it s3:GetObject, s3:GetObjectVersion and s3:ListBucket on the source bucket.";

pub const CREDENTIALS: &str = "The auditor could not assume the destination audit role: check AUDITOR_DESTINATION_ROLE_ARN and AUDITOR_EXTERNAL_ID, the role's trust policy (the auditor's role ARN and the sts:ExternalId condition) and the auditor role's sts:AssumeRole permission.";

pub const THROTTLED: &str = "S3 throttled the audit after the SDK's retries: in Lambda the item is delivered again (from the command line, run it again); lower AUDITOR_MAX_CONCURRENCY if this persists.";

pub const TRANSIENT: &str = "A network or service error stopped the audit after the SDK's retries: in Lambda the item is delivered again (from the command line, run it again).";

pub const UNREACHABLE: &str = "Nothing answers at the S3 endpoint: check AWS_ENDPOINT_URL (unset it for AWS itself) and AWS_REGION, and the network path (VPC endpoint, proxy).";
