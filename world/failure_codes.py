"""S3's replication failure reasons, complete, as the Amazon S3 User Guide lists them: "Amazon S3
replication failure reasons", now a section of "Receiving replication failure events with Amazon
S3 Event Notifications"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes),
34 codes in the page's order.

Each code has a class saying what the world does when it is the reason (the page has no such
column; the classes are this world's reading of each description):
  object         the object version did not replicate: no replica, destination FAILED
  delete_marker  a delete marker did not replicate (`DstDelObjNotPermitted`)
  metadata       the version's data replicated but some metadata (tags, ACL, Object Lock
                 retention or legal hold) did not: the replica exists, destination FAILED
  batch_only     the page says "This error is specific to Batch Replication": live replication
                 never sends it; the world injects it as-is (as an object failure) when asked
Metadata codes also say which metadata they are `about` (tags, acl, retention, legal_hold, or any).

Not listed: `DstMultipartPartUploadNotPermitted`, the earlier name of
`DstMultipartUploadNotPermitted` in older versions of the same table (the world sends current
names only).
"""

from __future__ import annotations

from typing import NamedTuple

OBJECT = "object"
DELETE_MARKER = "delete_marker"
METADATA = "metadata"
BATCH_ONLY = "batch_only"


class FailureCode(NamedTuple):
    description: str
    cls: str
    about: str | None = None  # metadata codes: which metadata


FAILURE_CODES: dict[str, FailureCode] = {
    "AssumeRoleNotPermitted": FailureCode("S3 cannot assume the IAM role of the replication configuration (or Batch Operations job).", OBJECT),
    "DstBucketInvalidRegion": FailureCode("The destination bucket is not in the Region the Batch Operations job specifies.", BATCH_ONLY),
    "DstBucketNotFound": FailureCode("S3 cannot find the destination bucket of the replication configuration.", OBJECT),
    "DstBucketObjectLockConfigMissing": FailureCode("The source bucket has Object Lock and the destination bucket has not.", OBJECT),
    "DstBucketUnversioned": FailureCode("Versioning is not enabled on the destination bucket.", OBJECT),
    "DstDelObjNotPermitted": FailureCode("S3 cannot replicate delete markers to the destination: s3:ReplicateDelete may be missing.", DELETE_MARKER),
    "DstKmsKeyInvalidState": FailureCode("The KMS key for the destination bucket is not in a valid state.", OBJECT),
    "DstKmsKeyNotFound": FailureCode("The KMS key configured for the destination bucket does not exist.", OBJECT),
    "DstMultipartCompleteNotPermitted": FailureCode("S3 cannot complete multipart uploads in the destination: s3:ReplicateObject may be missing.", OBJECT),
    "DstMultipartInitNotPermitted": FailureCode("S3 cannot initiate multipart uploads in the destination: s3:ReplicateObject may be missing.", OBJECT),
    "DstMultipartUploadNotPermitted": FailureCode("S3 cannot upload multipart objects to the destination: s3:ReplicateObject may be missing.", OBJECT),
    "DstObjectHardDeleted": FailureCode("Batch Replication cannot re-replicate objects deleted by version id from the destination.", BATCH_ONLY),
    "DstPutAclNotPermitted": FailureCode("S3 cannot replicate object ACLs to the destination: s3:ReplicateObject may be missing.", METADATA, "acl"),
    "DstPutLegalHoldNotPermitted": FailureCode("S3 cannot put an Object Lock legal hold on the replica: s3:PutObjectLegalHold may be missing.", METADATA, "legal_hold"),
    "DstPutObjectNotPermitted": FailureCode("S3 cannot replicate objects to the destination: s3:ReplicateObject, s3:ObjectOwnerOverrideToBucketOwner or the KMS key policy.", OBJECT),
    "DstPutRetentionNotPermitted": FailureCode("S3 cannot put a retention period on the replica: s3:PutObjectRetention may be missing.", METADATA, "retention"),
    "DstPutTaggingNotPermitted": FailureCode("S3 cannot replicate object tags to the destination.", METADATA, "tags"),
    "DstVersionNotFound": FailureCode("S3 cannot find the destination version whose metadata needs replicating.", METADATA, "any"),
    "InitiateReplicationNotPermitted": FailureCode("S3 cannot initiate replication: s3:InitiateReplication may be missing for the Batch Operations job.", BATCH_ONLY),
    "SrcBucketInvalidRegion": FailureCode("The source bucket is not in the Region the Batch Operations job specifies.", BATCH_ONLY),
    "SrcBucketNotFound": FailureCode("S3 cannot find the source bucket.", OBJECT),
    "SrcBucketReplicationConfigMissing": FailureCode("S3 cannot find a replication configuration for the source bucket.", OBJECT),
    "SrcGetAclNotPermitted": FailureCode("S3 cannot read the source object's ACL: s3:GetObjectVersionAcl may be missing.", METADATA, "acl"),
    "SrcGetLegalHoldNotPermitted": FailureCode("S3 cannot read the source object's Object Lock legal hold.", METADATA, "legal_hold"),
    "SrcGetObjectNotPermitted": FailureCode("S3 cannot read the source object: s3:GetObjectVersionForReplication may be missing.", OBJECT),
    "SrcGetRetentionNotPermitted": FailureCode("S3 cannot read the source object's Object Lock retention period.", METADATA, "retention"),
    "SrcGetTaggingNotPermitted": FailureCode("S3 cannot read the source object's tags: s3:GetObjectVersionTagging may be missing.", METADATA, "tags"),
    "SrcHeadObjectNotPermitted": FailureCode("S3 cannot read the source object's metadata: s3:GetObjectVersionForReplication may be missing.", OBJECT),
    "SrcKeyNotFound": FailureCode("S3 cannot find the source object key: it may have been deleted before replication completed.", OBJECT),
    "SrcKmsKeyInvalidState": FailureCode("The KMS key for the source bucket is not in a valid state.", OBJECT),
    "SrcObjectNotEligible": FailureCode("The object is not eligible: its storage class or tags do not match the replication configuration.", OBJECT),
    "SrcObjectNotFound": FailureCode("The source object does not exist.", OBJECT),
    "SrcReplicationNotPending": FailureCode("S3 has already replicated this object; it is no longer pending replication.", OBJECT),
    "SrcVersionNotFound": FailureCode("S3 cannot find the source object version: it may have been deleted before replication completed.", OBJECT),
}


def failure_class(code: str) -> str:
    return FAILURE_CODES[code].cls


def is_about_tags(code: str) -> bool:
    """Whether a metadata code can be the reason a tag change failed to replicate."""
    return FAILURE_CODES[code].about in ("tags", "any")
