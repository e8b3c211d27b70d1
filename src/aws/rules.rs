//! The one translation of an SDK replication configuration into the domain's
//! [`ReplicationRules`], shared by the audit (`aws::s3`), `doctor` and the drift check
//! (`aws::doctor`): two readers of the same rule never disagree.

use crate::audit::rules::{bucket_name_from_arn, ReplicationRule, ReplicationRules, RuleSchema};
use aws_sdk_s3::types::{
    DeleteMarkerReplicationStatus, MetricsStatus, OwnerOverride, ReplicationConfiguration,
    ReplicationRuleStatus, SseKmsEncryptedObjectsStatus,
};

/// A bucket's replication configuration as the domain models it.
pub fn replication_rules(configuration: ReplicationConfiguration) -> ReplicationRules {
    ReplicationRules {
        rules: configuration.rules.iter().map(replication_rule).collect(),
        role_arn: configuration.role,
    }
}

/// One SDK rule. A rule without `Filter` is the V1 schema, whose rule-level `Prefix` is
/// deprecated in the API but still found in old configurations; the filter's tags keep their
/// order (`Filter.Tag`, then `Filter.And.Tags`).
fn replication_rule(rule: &aws_sdk_s3::types::ReplicationRule) -> ReplicationRule {
    let filter = rule.filter.as_ref();
    let and = filter.and_then(|f| f.and.as_ref());
    #[allow(deprecated)]
    let v1_prefix = rule.prefix.clone();
    let prefix = and
        .and_then(|a| a.prefix.clone())
        .or_else(|| filter.and_then(|f| f.prefix.clone()))
        .or(v1_prefix)
        .unwrap_or_default();
    let tags = filter
        .and_then(|f| f.tag.as_ref())
        .into_iter()
        .chain(and.map(|a| a.tags()).unwrap_or_default())
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let destination = rule.destination.as_ref();
    ReplicationRule {
        id: rule.id.clone(),
        priority: rule.priority,
        enabled: rule.status == ReplicationRuleStatus::Enabled,
        schema: if filter.is_some() {
            RuleSchema::V2
        } else {
            RuleSchema::V1
        },
        prefix,
        tags,
        delete_marker_replication: rule
            .delete_marker_replication
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .map(|s| *s == DeleteMarkerReplicationStatus::Enabled),
        destination_bucket: destination
            .map(|d| bucket_name_from_arn(&d.bucket))
            .unwrap_or_default(),
        destination_account: destination.and_then(|d| d.account.clone()),
        owner_override: destination
            .and_then(|d| d.access_control_translation.as_ref())
            .is_some_and(|a| a.owner == OwnerOverride::Destination),
        sse_kms_objects: rule
            .source_selection_criteria
            .as_ref()
            .and_then(|c| c.sse_kms_encrypted_objects.as_ref())
            .is_some_and(|s| s.status == SseKmsEncryptedObjectsStatus::Enabled),
        replica_kms_key: destination
            .and_then(|d| d.encryption_configuration.as_ref())
            .and_then(|e| e.replica_kms_key_id.clone()),
        metrics: destination
            .and_then(|d| d.metrics.as_ref())
            .is_some_and(|m| m.status == MetricsStatus::Enabled),
    }
}

#[cfg(test)]
mod tests {
    //! GIVEN what GetBucketReplication returns THEN the domain's rule.
    use super::*;
    use aws_sdk_s3::types::{
        AccessControlTranslation, DeleteMarkerReplication, Destination, EncryptionConfiguration,
        Metrics, ReplicationRule as SdkRule, ReplicationRuleAndOperator, ReplicationRuleFilter,
        SourceSelectionCriteria, SseKmsEncryptedObjects, Tag,
    };

    #[test]
    fn a_full_rule_maps_filters_delete_markers_owner_override_kms_and_metrics() {
        let sdk = SdkRule::builder()
            .id("images")
            .priority(2)
            .status(ReplicationRuleStatus::Enabled)
            .filter(
                ReplicationRuleFilter::builder()
                    .and(
                        ReplicationRuleAndOperator::builder()
                            .prefix("img/")
                            .tags(Tag::builder().key("k").value("v").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Enabled)
                    .build(),
            )
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::dst")
                    .account("222222222222")
                    .access_control_translation(
                        AccessControlTranslation::builder()
                            .owner(OwnerOverride::Destination)
                            .build()
                            .unwrap(),
                    )
                    .encryption_configuration(
                        EncryptionConfiguration::builder()
                            .replica_kms_key_id("arn:aws:kms:us-east-1:222222222222:key/r")
                            .build(),
                    )
                    .metrics(
                        Metrics::builder()
                            .status(MetricsStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(
            replication_rule(&sdk),
            ReplicationRule {
                id: Some("images".into()),
                priority: Some(2),
                enabled: true,
                schema: RuleSchema::V2,
                prefix: "img/".into(),
                tags: vec![("k".into(), "v".into())],
                delete_marker_replication: Some(true),
                destination_bucket: "dst".into(),
                destination_account: Some("222222222222".into()),
                owner_override: true,
                sse_kms_objects: true,
                replica_kms_key: Some("arn:aws:kms:us-east-1:222222222222:key/r".into()),
                metrics: true,
            }
        );
    }

    #[test]
    fn a_v1_rule_without_delete_marker_replication_says_not_stated_and_replicates_them() {
        #[allow(deprecated)]
        let sdk = SdkRule::builder()
            .prefix("logs/")
            .status(ReplicationRuleStatus::Disabled)
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::old")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let mapped = replication_rule(&sdk);
        assert_eq!(mapped.prefix, "logs/");
        assert_eq!(mapped.schema, RuleSchema::V1);
        assert_eq!(mapped.delete_marker_replication, None);
        assert!(
            mapped.replicates_delete_markers(),
            "V1 rules replicate delete markers"
        );
        assert!(!mapped.enabled && !mapped.owner_override && !mapped.metrics);
    }
}
