//! S3's replication failure reasons (`failureReason` of an `OperationFailedReplication` event and
//! of a Batch Replication completion report), complete as the Amazon S3 User Guide lists them
//! ("Amazon S3 replication failure reasons", now a section of "Receiving replication failure
//! events with Amazon S3 Event Notifications"): one row per code with what it is about, what it
//! means, the fix, and what brings the version over once the cause is fixed.
//!
//! Only a code in this table is believed: any other text in `failureReason` is reported as an
//! unknown code (escaped and shortened by the verdict), never given a fix it did not earn.

/// What a failed replication was carrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The object version itself (its data): no replica was written.
    Object,
    /// A delete marker.
    DeleteMarker,
    /// Metadata of a version whose data may well be in the destination already: the replica
    /// exists but carries the wrong tags, ACL or Object Lock settings.
    Metadata(MetadataKind),
    /// The setup (role, buckets, configuration): every object and delete marker fails alike.
    Setup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataKind {
    Tags,
    Acl,
    Retention,
    LegalHold,
    /// Metadata of some kind (S3 does not say which).
    Any,
}

impl MetadataKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataKind::Tags => "tags",
            MetadataKind::Acl => "ACL",
            MetadataKind::Retention => "Object Lock retention",
            MetadataKind::LegalHold => "Object Lock legal hold",
            MetadataKind::Any => "metadata",
        }
    }
}

/// What brings the version over once the cause is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redrive {
    /// S3 does not retry a FAILED replication: an S3 Batch Replication job (eligible objects:
    /// FAILED) replicates it after the fix.
    BatchReplication,
    /// Put the metadata again on the source version (S3 replicates the change), or Batch
    /// Replication.
    ReapplyMetadata,
    /// Batch Replication cannot help: copy the object (S3 Batch Operations Copy, in place).
    CopyInPlace,
    /// Nothing to replicate (the source version is gone, or it replicated already).
    Nothing,
}

impl Redrive {
    pub fn as_str(self) -> &'static str {
        match self {
            Redrive::BatchReplication => "S3 does not retry a FAILED replication: after the fix, replicate the failed objects with S3 Batch Replication (replication-auditor reconcile writes the manifest).",
            Redrive::ReapplyMetadata => "After the fix, put the metadata on the source version again (S3 replicates the change) or run S3 Batch Replication on the FAILED objects.",
            Redrive::CopyInPlace => "S3 Batch Replication cannot re-replicate it: copy the source version in place (S3 Batch Operations Copy) to make a new version that replicates.",
            Redrive::Nothing => "Nothing needs replicating.",
        }
    }
}

/// One documented failure reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCode {
    pub code: &'static str,
    pub subject: Subject,
    /// What S3 says it means.
    pub meaning: &'static str,
    /// What to change.
    pub fix: &'static str,
    pub redrive: Redrive,
    /// S3 sends it only for S3 Batch Replication jobs, never for live replication.
    pub batch_only: bool,
}

use MetadataKind::*;
use Redrive::*;
use Subject::*;

const fn row(
    code: &'static str,
    subject: Subject,
    meaning: &'static str,
    fix: &'static str,
    redrive: Redrive,
) -> FailureCode {
    FailureCode {
        code,
        subject,
        meaning,
        fix,
        redrive,
        batch_only: false,
    }
}

const fn batch(
    code: &'static str,
    subject: Subject,
    meaning: &'static str,
    fix: &'static str,
    redrive: Redrive,
) -> FailureCode {
    FailureCode {
        batch_only: true,
        ..row(code, subject, meaning, fix, redrive)
    }
}

const DST_POLICY: &str = "the destination bucket policy must allow it to the source account's id (arn:aws:iam::<SOURCE_ACCOUNT_ID>:root) or the replication role — not the destination account's own id, a typo'd id or the source bucket's name — on arn:aws:s3:::<DESTINATION_BUCKET>/*, and the replication role's own policy must allow it too. `replication-auditor doctor` names the wrong value.";

/// Every code of the user guide's table, in its order (plus one earlier name of a code).
pub const FAILURE_CODES: &[FailureCode] = &[
    row("AssumeRoleNotPermitted", Setup,
        "S3 cannot assume the IAM role named in the replication configuration (or the Batch Operations job).",
        "Check that the role exists in the source account, trusts s3.amazonaws.com (and batchoperations.s3.amazonaws.com for Batch Replication), and that the rule names its ARN.",
        BatchReplication),
    batch("DstBucketInvalidRegion", Setup,
        "The destination bucket is not in the Region the Batch Operations job specifies.",
        "Create the Batch Replication job in the destination bucket's Region, or fix the destination named in the rule.",
        BatchReplication),
    row("DstBucketNotFound", Setup,
        "S3 cannot find the destination bucket named in the replication configuration.",
        "Check the bucket ARN in the rule's Destination (or create the bucket, versioning enabled).",
        BatchReplication),
    row("DstBucketObjectLockConfigMissing", Setup,
        "The source bucket has Object Lock, and the destination bucket does not (replicating locked objects needs Object Lock on both).",
        "Enable Object Lock on the destination bucket.",
        BatchReplication),
    row("DstBucketUnversioned", Setup,
        "Versioning is not enabled on the destination bucket.",
        "Enable versioning on the destination bucket.",
        BatchReplication),
    row("DstDelObjNotPermitted", DeleteMarker,
        "S3 cannot replicate delete markers to the destination: s3:ReplicateDelete may be missing.",
        "Allow s3:ReplicateDelete: the destination bucket policy must allow it to the source account's id (arn:aws:iam::<SOURCE_ACCOUNT_ID>:root) or the replication role on arn:aws:s3:::<DESTINATION_BUCKET>/*, and the replication role's own policy must allow it too.",
        BatchReplication),
    row("DstKmsKeyInvalidState", Object,
        "The KMS key for the destination (the rule's ReplicaKmsKeyID) is not in a valid state (disabled, pending deletion or import).",
        "Enable the replica KMS key in the destination account, or name a valid one in the rule's Destination.EncryptionConfiguration.ReplicaKmsKeyID.",
        BatchReplication),
    row("DstKmsKeyNotFound", Object,
        "The KMS key configured for the destination (ReplicaKmsKeyID) does not exist (PutBucketReplication does not check it).",
        "Put the ARN of an existing KMS key in the destination bucket's Region into the rule's ReplicaKmsKeyID, and let the replication role kms:Encrypt with it in the key policy.",
        BatchReplication),
    row("DstMultipartCompleteNotPermitted", Object,
        "S3 cannot complete multipart uploads of objects in the destination: s3:ReplicateObject may be missing.",
        DST_POLICY,
        BatchReplication),
    row("DstMultipartInitNotPermitted", Object,
        "S3 cannot initiate multipart uploads of objects in the destination: s3:ReplicateObject may be missing.",
        DST_POLICY,
        BatchReplication),
    row("DstMultipartUploadNotPermitted", Object,
        "S3 cannot upload multipart upload objects to the destination: s3:ReplicateObject may be missing.",
        DST_POLICY,
        BatchReplication),
    batch("DstObjectHardDeleted", Object,
        "S3 Batch Replication does not re-replicate objects deleted from the destination with their version id.",
        "Find who deletes versions in the destination (CloudTrail data events, lifecycle rules) and protect replicas (Object Lock, or a bucket policy denying s3:DeleteObjectVersion).",
        CopyInPlace),
    row("DstPutAclNotPermitted", Metadata(Acl),
        "S3 cannot replicate the object's ACL to the destination: s3:ReplicateObject may be missing.",
        "Allow s3:ReplicateObject to the source account or the replication role in the destination bucket policy (and the role's policy); with ACLs enabled and the owner override, also s3:ObjectOwnerOverrideToBucketOwner — or set the destination's Object Ownership to bucket owner enforced.",
        ReapplyMetadata),
    row("DstPutLegalHoldNotPermitted", Metadata(LegalHold),
        "S3 cannot put the Object Lock legal hold on the replica: s3:PutObjectLegalHold may be missing for the destination.",
        "Allow s3:PutObjectLegalHold on the destination's objects to the replication role (its policy and the destination bucket policy). Until then the replica is not under legal hold.",
        ReapplyMetadata),
    row("DstPutObjectNotPermitted", Object,
        "S3 cannot replicate the object to the destination: s3:ReplicateObject (or s3:ObjectOwnerOverrideToBucketOwner) is missing for the destination, or the destination KMS key policy does not let the replication role use the key.",
        "Allow s3:ReplicateObject (and s3:ReplicateDelete, s3:ReplicateTags): the destination bucket policy must allow them to the source account's id (arn:aws:iam::<SOURCE_ACCOUNT_ID>:root) or the replication role — not the destination account's own id, a typo'd id or the source bucket's name — on arn:aws:s3:::<DESTINATION_BUCKET>/*, and the replication role's own policy must allow s3:ReplicateObject too; with SSE-KMS replicas, the replica key's policy must let the role kms:Encrypt. `replication-auditor doctor` names the wrong value.",
        BatchReplication),
    row("DstPutRetentionNotPermitted", Metadata(Retention),
        "S3 cannot put the Object Lock retention period on the replica: s3:PutObjectRetention may be missing for the destination.",
        "Allow s3:PutObjectRetention on the destination's objects to the replication role (its policy and the destination bucket policy). Until then the replica is not locked: a compliance gap.",
        ReapplyMetadata),
    row("DstPutTaggingNotPermitted", Metadata(Tags),
        "S3 cannot replicate the object's tags to the destination.",
        "Allow s3:ReplicateTags (the user guide also names s3:ReplicateObject) to the source account or the replication role in the destination bucket policy on arn:aws:s3:::<DESTINATION_BUCKET>/*, and in the replication role's policy.",
        ReapplyMetadata),
    row("DstVersionNotFound", Metadata(Any),
        "S3 cannot find, in the destination, the object version whose metadata it has to replicate: the replica was deleted there.",
        "Find who deletes replicas in the destination (CloudTrail data events, lifecycle rules) and protect them (Object Lock, or a bucket policy denying deletes).",
        CopyInPlace),
    batch("InitiateReplicationNotPermitted", Setup,
        "S3 cannot initiate replication on objects: s3:InitiateReplication may be missing for the Batch Operations job.",
        "Allow s3:InitiateReplication on the source bucket's objects to the Batch Operations job's role.",
        BatchReplication),
    batch("SrcBucketInvalidRegion", Setup,
        "The source bucket is not in the Region the Batch Operations job specifies.",
        "Create the Batch Replication job in the source bucket's Region.",
        BatchReplication),
    row("SrcBucketNotFound", Setup,
        "S3 cannot find the source bucket.",
        "Check the source bucket named in the Batch Operations job or configuration.",
        Nothing),
    row("SrcBucketReplicationConfigMissing", Setup,
        "S3 could not find a replication configuration for the source bucket.",
        "Put the replication configuration back on the source bucket (it was removed or never written), then re-drive.",
        BatchReplication),
    row("SrcGetAclNotPermitted", Metadata(Acl),
        "S3 cannot read the source object's ACL for replication: s3:GetObjectVersionAcl may be missing, or the bucket owner does not own the object.",
        "Allow s3:GetObjectVersionAcl on the source bucket's objects to the replication role; objects must be owned by the bucket owner (Object Ownership bucket owner enforced, or bucket-owner-full-control with bucket owner preferred).",
        BatchReplication),
    row("SrcGetLegalHoldNotPermitted", Metadata(LegalHold),
        "S3 cannot read the source object's Object Lock legal hold.",
        "Allow s3:GetObjectLegalHold on the source bucket's objects to the replication role.",
        ReapplyMetadata),
    row("SrcGetObjectNotPermitted", Object,
        "S3 cannot read the source object for replication: s3:GetObjectVersionForReplication may be missing.",
        "Allow s3:GetObjectVersionForReplication on the source bucket's objects to the replication role (with SSE-KMS sources also kms:Decrypt on the source key, in the role's policy and the key policy).",
        BatchReplication),
    row("SrcGetRetentionNotPermitted", Metadata(Retention),
        "S3 cannot read the source object's Object Lock retention period.",
        "Allow s3:GetObjectRetention on the source bucket's objects to the replication role.",
        ReapplyMetadata),
    row("SrcGetTaggingNotPermitted", Metadata(Tags),
        "S3 cannot read the source object's tags: s3:GetObjectVersionTagging may be missing.",
        "Allow s3:GetObjectVersionTagging on the source bucket's objects to the replication role.",
        ReapplyMetadata),
    row("SrcHeadObjectNotPermitted", Object,
        "S3 cannot read the source object's metadata: s3:GetObjectVersionForReplication may be missing.",
        "Allow s3:GetObjectVersionForReplication on the source bucket's objects to the replication role.",
        BatchReplication),
    row("SrcKeyNotFound", Object,
        "S3 cannot find the source object's key: it was probably deleted before replication completed.",
        "Nothing to fix when the source was deleted on purpose; if it was not, find who deleted it (CloudTrail data events).",
        Nothing),
    row("SrcKmsKeyInvalidState", Object,
        "The KMS key of the source object is not in a valid state (disabled, pending deletion).",
        "Enable the source object's KMS key, and let the replication role kms:Decrypt with it.",
        BatchReplication),
    row("SrcObjectNotEligible", Object,
        "The object is not eligible for replication: its storage class, or its tags do not match the rule.",
        "Check the object's storage class (GLACIER and DEEP_ARCHIVE objects are not replicated: restore and copy them) and the rule's tag filter.",
        CopyInPlace),
    row("SrcObjectNotFound", Object,
        "The source object does not exist.",
        "Nothing to fix when the source was deleted on purpose.",
        Nothing),
    row("SrcReplicationNotPending", Object,
        "S3 has already replicated this object: it is no longer pending replication.",
        "Nothing to fix: the object replicated.",
        Nothing),
    row("SrcVersionNotFound", Object,
        "S3 cannot find the source object version: it was probably deleted before replication completed.",
        "Nothing to fix when the version was deleted on purpose; if it was not, find who deleted it (CloudTrail data events).",
        Nothing),
    // The earlier name of DstMultipartUploadNotPermitted, in older versions of the same table.
    row("DstMultipartPartUploadNotPermitted", Object,
        "S3 cannot upload multipart object parts to the destination: s3:ReplicateObject may be missing.",
        DST_POLICY,
        BatchReplication),
];

/// The documented row for `code` (exact, case-sensitive: S3's codes are identifiers).
pub fn lookup(code: &str) -> Option<&'static FailureCode> {
    FAILURE_CODES.iter().find(|row| row.code == code)
}

/// Codes that say the source version was deleted before S3 could replicate it.
pub fn means_source_gone(code: &str) -> bool {
    matches!(
        code,
        "SrcKeyNotFound" | "SrcVersionNotFound" | "SrcObjectNotFound"
    )
}

#[cfg(test)]
mod tests {
    //! The table row by row: every code once, each with a fix of its own, the classes the
    //! verdicts rely on.
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_looks_like_s3s() {
        let mut seen = std::collections::HashSet::new();
        for row in FAILURE_CODES {
            assert!(seen.insert(row.code), "{} listed twice", row.code);
            assert!(
                row.code.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                row.code
            );
            assert!(
                !row.meaning.is_empty() && !row.fix.is_empty(),
                "{}",
                row.code
            );
            assert_eq!(lookup(row.code), Some(row));
        }
        assert_eq!(
            FAILURE_CODES.len(),
            35,
            "34 documented codes and one earlier name"
        );
    }

    #[test]
    fn codes_that_are_not_s3s_are_not_found() {
        // An old table of ours named these; S3 does not.
        for wrong in [
            "DstPutObjectAclNotPermitted",
            "DstKmsKeyAccessDenied",
            "SrcKmsKeyAccessDenied",
            "dstputobjectnotpermitted",
            "",
        ] {
            assert!(lookup(wrong).is_none(), "{wrong}");
        }
    }

    #[test]
    fn metadata_codes_are_metadata_and_name_what_failed() {
        for (code, what) in [
            ("DstPutTaggingNotPermitted", Tags),
            ("SrcGetTaggingNotPermitted", Tags),
            ("DstPutAclNotPermitted", Acl),
            ("SrcGetAclNotPermitted", Acl),
            ("DstPutRetentionNotPermitted", Retention),
            ("SrcGetRetentionNotPermitted", Retention),
            ("DstPutLegalHoldNotPermitted", LegalHold),
            ("SrcGetLegalHoldNotPermitted", LegalHold),
            ("DstVersionNotFound", Any),
        ] {
            assert_eq!(lookup(code).unwrap().subject, Metadata(what), "{code}");
        }
    }

    #[test]
    fn only_delete_marker_replication_is_about_delete_markers() {
        let markers: Vec<&str> = FAILURE_CODES
            .iter()
            .filter(|r| r.subject == DeleteMarker)
            .map(|r| r.code)
            .collect();
        assert_eq!(markers, ["DstDelObjNotPermitted"]);
        // A hard-deleted destination version is about an object, and Batch Replication's own.
        let hard = lookup("DstObjectHardDeleted").unwrap();
        assert_eq!((hard.subject, hard.batch_only), (Object, true));
        assert_eq!(hard.redrive, CopyInPlace);
        assert!(!hard.fix.contains("ReplicateDelete"));
    }

    #[test]
    fn batch_only_codes_are_the_ones_the_guide_says_are() {
        let batch: Vec<&str> = FAILURE_CODES
            .iter()
            .filter(|r| r.batch_only)
            .map(|r| r.code)
            .collect();
        assert_eq!(
            batch,
            [
                "DstBucketInvalidRegion",
                "DstObjectHardDeleted",
                "InitiateReplicationNotPermitted",
                "SrcBucketInvalidRegion"
            ]
        );
    }

    #[test]
    fn source_gone_codes_need_nothing_replicated() {
        for row in FAILURE_CODES.iter().filter(|r| means_source_gone(r.code)) {
            assert_eq!(row.redrive, Nothing, "{}", row.code);
        }
        assert!(means_source_gone("SrcVersionNotFound"));
        assert!(!means_source_gone("DstVersionNotFound"));
    }

    #[test]
    fn fixes_name_the_permission_the_code_is_about() {
        for (code, permission) in [
            ("DstDelObjNotPermitted", "s3:ReplicateDelete"),
            ("DstPutTaggingNotPermitted", "s3:ReplicateTags"),
            ("DstPutRetentionNotPermitted", "s3:PutObjectRetention"),
            ("DstPutLegalHoldNotPermitted", "s3:PutObjectLegalHold"),
            ("SrcGetTaggingNotPermitted", "s3:GetObjectVersionTagging"),
            ("SrcGetAclNotPermitted", "s3:GetObjectVersionAcl"),
            (
                "SrcGetObjectNotPermitted",
                "s3:GetObjectVersionForReplication",
            ),
            ("DstKmsKeyNotFound", "ReplicaKmsKeyID"),
            ("DstBucketUnversioned", "versioning"),
            ("InitiateReplicationNotPermitted", "s3:InitiateReplication"),
            ("DstBucketInvalidRegion", "Region"),
        ] {
            assert!(lookup(code).unwrap().fix.contains(permission), "{code}");
        }
    }
}
