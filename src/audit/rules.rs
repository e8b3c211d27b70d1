//! A source bucket's replication configuration — the one model of a replication rule that the
//! audit, `doctor` and the drift check share — and what it says about one object version:
//! which destination buckets (in which accounts) it replicates to, evaluated as S3 does.
//!
//! S3 user guide, "Replication configuration file elements" and the `Priority` element of the
//! API reference: a rule covers an object when its whole filter matches — the key prefix *and*
//! every tag of the filter; "if there are two or more rules with the same destination bucket,
//! then objects will be replicated according to the rule with the highest priority". A
//! disabled rule does not replicate. Delete markers: a rule without `Filter` is the earlier
//! schema (V1), which replicates delete markers; a V2 rule (with `Filter`) replicates them only
//! when its `DeleteMarkerReplication` is `Enabled`, and rules with tag filters cannot replicate
//! delete markers (a delete marker has no tags).
//!
//! Coverage is not eligibility (user guide, "What is replicated with replication
//! configurations" and "Replicating encrypted objects"): S3 skips SSE-KMS and DSSE-KMS objects
//! under a rule without `SourceSelectionCriteria.SseKmsEncryptedObjects` `Enabled`, and objects
//! stored in S3 Glacier Flexible Retrieval, S3 Glacier Deep Archive or the Intelligent-Tiering
//! archive tiers. [`ReplicationRules::coverage`] reports such destinations apart, with the
//! reason.

/// Which schema a rule was written in: V1 (rule-level `Prefix`, no `Filter`) or V2 (`Filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleSchema {
    V1,
    #[default]
    V2,
}

/// One rule of a replication configuration (`aws::rules` translates the SDK's shape into it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicationRule {
    pub id: Option<String>,
    pub priority: Option<i32>,
    pub enabled: bool,
    pub schema: RuleSchema,
    /// Key prefix the rule covers ("" for every key); V2 `Filter`/`And` or the V1 rule prefix.
    pub prefix: String,
    /// Tags an object must all carry (`Filter.Tag` or `Filter.And.Tags`), in the rule's order.
    pub tags: Vec<(String, String)>,
    /// `DeleteMarkerReplication.Status` as stated (`None`: not stated).
    pub delete_marker_replication: Option<bool>,
    /// Destination bucket *name* (taken from the `arn:aws:s3:::name` ARN).
    pub destination_bucket: String,
    /// `Destination.Account`: the destination bucket owner's account id, when stated.
    pub destination_account: Option<String>,
    /// `Destination.AccessControlTranslation.Owner = Destination`.
    pub owner_override: bool,
    /// `SourceSelectionCriteria.SseKmsEncryptedObjects.Status = Enabled`.
    pub sse_kms_objects: bool,
    /// `Destination.EncryptionConfiguration.ReplicaKmsKeyID`.
    pub replica_kms_key: Option<String>,
    /// `Destination.Metrics.Status = Enabled` (S3 then sends replication failure events).
    pub metrics: bool,
}

impl ReplicationRule {
    /// How a person finds the rule in the configuration: its id, else its position.
    pub fn label(&self, index: usize) -> String {
        match &self.id {
            Some(id) => format!("rule {id:?}"),
            None => format!("rule #{}", index + 1),
        }
    }

    /// Whether delete markers replicate under this rule: always under V1, under V2 only when
    /// `DeleteMarkerReplication` is `Enabled`; never with a tag filter.
    pub fn replicates_delete_markers(&self) -> bool {
        self.tags.is_empty()
            && match self.schema {
                RuleSchema::V1 => true,
                RuleSchema::V2 => self.delete_marker_replication == Some(true),
            }
    }

    /// Why S3 will not replicate an object version with `traits` under this rule, if it will not.
    pub fn ineligibility(&self, traits: &ObjectTraits) -> Option<Ineligibility> {
        if let Some(class) = traits.archive_class {
            return Some(Ineligibility::ArchiveStorageClass(class));
        }
        if traits.kms_encrypted && !self.sse_kms_objects {
            return Some(Ineligibility::KmsNotSelected);
        }
        None
    }

    fn matches(&self, key: &str, tags: Option<&[(String, String)]>) -> Option<bool> {
        if !key.starts_with(&self.prefix) {
            return Some(false);
        }
        if self.tags.is_empty() {
            return Some(true);
        }
        let tags = tags?;
        Some(self.tags.iter().all(|wanted| tags.contains(wanted)))
    }
}

/// A destination the configuration sends a version to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub bucket: String,
    /// The account that must own the bucket (`ExpectedBucketOwner`), when known.
    pub account: Option<String>,
}

impl Destination {
    pub fn new(bucket: impl Into<String>, account: Option<String>) -> Self {
        Self {
            bucket: bucket.into(),
            account,
        }
    }
}

/// What S3 looks at, besides the filter, to decide whether it replicates a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObjectTraits {
    /// Stored with SSE-KMS or DSSE-KMS (`aws:kms`, `aws:kms:dsse`).
    pub kms_encrypted: bool,
    /// Stored in an archive storage class or tier S3 does not replicate from.
    pub archive_class: Option<ArchiveClass>,
}

/// The storage classes and Intelligent-Tiering tiers that live replication skips ("What is
/// replicated with replication configurations": restore and copy such objects first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArchiveClass {
    /// `GLACIER` (S3 Glacier Flexible Retrieval).
    Glacier,
    /// `DEEP_ARCHIVE`.
    DeepArchive,
    /// `INTELLIGENT_TIERING` in the Archive Access tier (`x-amz-archive-status: ARCHIVE_ACCESS`).
    IntelligentTieringArchive,
    /// `INTELLIGENT_TIERING` in the Deep Archive Access tier (`DEEP_ARCHIVE_ACCESS`).
    IntelligentTieringDeepArchive,
}

impl ArchiveClass {
    /// From HEAD's `x-amz-storage-class` and `x-amz-archive-status` (absent means STANDARD).
    pub fn from_head(storage_class: Option<&str>, archive_status: Option<&str>) -> Option<Self> {
        match (storage_class, archive_status) {
            (Some("GLACIER"), _) => Some(Self::Glacier),
            (Some("DEEP_ARCHIVE"), _) => Some(Self::DeepArchive),
            (Some("INTELLIGENT_TIERING"), Some("ARCHIVE_ACCESS")) => {
                Some(Self::IntelligentTieringArchive)
            }
            (Some("INTELLIGENT_TIERING"), Some("DEEP_ARCHIVE_ACCESS")) => {
                Some(Self::IntelligentTieringDeepArchive)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Glacier => "GLACIER (S3 Glacier Flexible Retrieval)",
            Self::DeepArchive => "DEEP_ARCHIVE (S3 Glacier Deep Archive)",
            Self::IntelligentTieringArchive => "INTELLIGENT_TIERING, Archive Access tier",
            Self::IntelligentTieringDeepArchive => "INTELLIGENT_TIERING, Deep Archive Access tier",
        }
    }
}

/// Why S3 will not replicate a version that a rule's filter covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ineligibility {
    /// SSE-KMS / DSSE-KMS object, and the rule does not opt in to KMS-encrypted objects.
    KmsNotSelected,
    /// Stored in an archive storage class or tier.
    ArchiveStorageClass(ArchiveClass),
}

/// What the source bucket's replication configuration says about one version and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleCoverage {
    Covered,
    NotCovered,
    /// A rule's prefix covers the key but its tag filter leaves the object out on purpose.
    ExcludedByTags,
    /// A rule covers the version, but S3 will not replicate it (encryption, storage class).
    Ineligible(Ineligibility),
    NoConfiguration,
    /// Not looked up (destination configured) or lookup failed.
    Unknown,
}

/// Which destinations a version goes to, per the configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    pub destinations: Vec<Destination>,
    /// Destinations whose rule covers the version but to which S3 will not replicate it.
    pub ineligible: Vec<(Destination, Ineligibility)>,
    /// Some enabled rule's prefix covers the key but its tags do not match: the filter
    /// deliberately leaves this object out.
    pub excluded_by_tags: bool,
}

impl Coverage {
    /// What the verdict needs to know: covered (some destination), left out by a tag filter on
    /// purpose, or not covered by any rule. (Ineligible destinations are judged one by one.)
    pub fn rule_coverage(&self) -> RuleCoverage {
        if !self.destinations.is_empty() {
            RuleCoverage::Covered
        } else if let Some((_, why)) = self.ineligible.first() {
            RuleCoverage::Ineligible(*why)
        } else if self.excluded_by_tags {
            RuleCoverage::ExcludedByTags
        } else {
            RuleCoverage::NotCovered
        }
    }
}

/// A bucket's replication configuration: the role S3 replicates with, and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicationRules {
    pub role_arn: String,
    pub rules: Vec<ReplicationRule>,
}

impl ReplicationRules {
    /// Whether the object's tags are needed to decide coverage of `key` (some rule whose
    /// prefix covers the key filters on tags): only then is `GetObjectTagging` worth a call.
    pub fn needs_tags(&self, key: &str) -> bool {
        self.rules
            .iter()
            .any(|r| !r.tags.is_empty() && key.starts_with(&r.prefix))
    }

    /// Destinations of an object version with `key` and `tags` (`None`: tags unknown, only
    /// valid when [`Self::needs_tags`] is false); `delete_marker` for a delete marker; `traits`
    /// when the version's encryption and storage class are known (else it counts as eligible).
    /// Per destination bucket, the highest-priority matching rule decides, and only an
    /// enabled one replicates.
    pub fn coverage(
        &self,
        key: &str,
        tags: Option<&[(String, String)]>,
        delete_marker: bool,
        traits: Option<&ObjectTraits>,
    ) -> Coverage {
        let mut chosen: Vec<&ReplicationRule> = Vec::new();
        let mut excluded_by_tags = false;
        for rule in &self.rules {
            match rule.matches(key, tags) {
                Some(true) => {}
                Some(false) => {
                    excluded_by_tags |=
                        rule.enabled && !rule.tags.is_empty() && key.starts_with(&rule.prefix);
                    continue;
                }
                // Tags unknown: treat as not covering (the caller reads tags when needed).
                None => continue,
            }
            match chosen
                .iter_mut()
                .find(|c| c.destination_bucket == rule.destination_bucket)
            {
                Some(current) if rule.priority.unwrap_or(0) > current.priority.unwrap_or(0) => {
                    *current = rule
                }
                Some(_) => {}
                None => chosen.push(rule),
            }
        }
        let mut coverage = Coverage::default();
        for rule in chosen.into_iter().filter(|r| r.enabled) {
            if delete_marker && !rule.replicates_delete_markers() {
                continue;
            }
            let destination =
                Destination::new(&rule.destination_bucket, rule.destination_account.clone());
            match traits.and_then(|t| rule.ineligibility(t)) {
                Some(why) if !delete_marker => coverage.ineligible.push((destination, why)),
                _ => coverage.destinations.push(destination),
            }
        }
        coverage.excluded_by_tags =
            excluded_by_tags && coverage.destinations.is_empty() && coverage.ineligible.is_empty();
        coverage
    }

    /// The account owning `bucket` per the rules (`Destination.Account`), if any rule says.
    pub fn account_of(&self, bucket: &str) -> Option<String> {
        self.rules
            .iter()
            .filter(|r| r.destination_bucket == bucket)
            .find_map(|r| r.destination_account.clone())
    }
}

/// `arn:aws:s3:::name` → `name` (a bare name is returned as is).
pub fn bucket_name_from_arn(arn: &str) -> String {
    arn.rsplit(":::").next().unwrap_or(arn).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, dest: &str, priority: i32, enabled: bool) -> ReplicationRule {
        ReplicationRule {
            id: None,
            priority: Some(priority),
            enabled,
            prefix: prefix.into(),
            destination_bucket: dest.into(),
            ..ReplicationRule::default()
        }
    }

    fn tagged(mut rule: ReplicationRule, key: &str, value: &str) -> ReplicationRule {
        rule.tags.push((key.into(), value.into()));
        rule
    }

    fn buckets(coverage: &Coverage) -> Vec<&str> {
        coverage
            .destinations
            .iter()
            .map(|d| d.bucket.as_str())
            .collect()
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_prefix_covers_every_key() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![rule("", "b", 1, true)],
        };
        assert_eq!(
            buckets(&rules.coverage("any/key.png", None, false, None)),
            ["b"]
        );
    }

    #[test]
    fn prefix_outside_the_filter_is_not_covered() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![rule("docs/", "b", 1, true)],
        };
        let coverage = rules.coverage("img/a.png", None, false, None);
        assert!(coverage.destinations.is_empty());
        assert!(!coverage.excluded_by_tags);
    }

    #[test]
    fn highest_priority_rule_decides_per_destination() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![rule("", "b", 1, true), rule("tmp/", "b", 5, false)],
        };
        assert!(rules
            .coverage("tmp/x", None, false, None)
            .destinations
            .is_empty());
        assert_eq!(buckets(&rules.coverage("data/x", None, false, None)), ["b"]);
    }

    #[test]
    fn several_destinations_are_all_reported_with_their_accounts() {
        let mut second = rule("", "b2", 2, true);
        second.destination_account = Some("333333333333".into());
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![rule("", "b1", 1, true), second],
        };
        let coverage = rules.coverage("k", None, false, None);
        assert_eq!(buckets(&coverage), ["b1", "b2"]);
        assert_eq!(
            coverage.destinations[1].account.as_deref(),
            Some("333333333333")
        );
        assert_eq!(rules.account_of("b2").as_deref(), Some("333333333333"));
    }

    #[test]
    fn a_tag_filter_covers_only_objects_carrying_every_tag() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![tagged(rule("", "b", 1, true), "replicate", "yes")],
        };
        assert!(rules.needs_tags("any"));
        let yes = rules.coverage("k", Some(&tags(&[("replicate", "yes")])), false, None);
        assert_eq!(buckets(&yes), ["b"]);
        let untagged = rules.coverage("k", Some(&[]), false, None);
        assert!(untagged.destinations.is_empty());
        assert!(
            untagged.excluded_by_tags,
            "left out on purpose by the filter"
        );
    }

    #[test]
    fn tag_routing_sends_each_object_to_its_own_bucket() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![
                tagged(rule("", "gold", 1, true), "tier", "gold"),
                tagged(rule("", "silver", 2, true), "tier", "silver"),
            ],
        };
        let gold = rules.coverage("k", Some(&tags(&[("tier", "gold")])), false, None);
        assert_eq!(buckets(&gold), ["gold"]);
        let silver = rules.coverage(
            "k",
            Some(&tags(&[("tier", "silver"), ("x", "y")])),
            false,
            None,
        );
        assert_eq!(buckets(&silver), ["silver"]);
    }

    #[test]
    fn tags_are_only_needed_where_a_tag_rule_prefix_covers_the_key() {
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![
                rule("", "b", 1, true),
                tagged(rule("img/", "c", 2, true), "t", "1"),
            ],
        };
        assert!(!rules.needs_tags("docs/a"));
        assert!(rules.needs_tags("img/a"));
    }

    #[test]
    fn delete_markers_replicate_only_where_the_rule_says_and_never_under_tag_rules() {
        let mut markers = rule("", "b", 1, true);
        markers.delete_marker_replication = Some(true);
        let mut tag_rule = tagged(rule("", "c", 1, true), "t", "1");
        tag_rule.delete_marker_replication = Some(true);
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![markers, rule("", "d", 1, true), tag_rule],
        };
        assert_eq!(buckets(&rules.coverage("k", Some(&[]), true, None)), ["b"]);
    }

    #[test]
    fn v1_rules_replicate_delete_markers_and_v2_rules_only_when_enabled() {
        let mut v1 = rule("", "b", 1, true);
        v1.schema = RuleSchema::V1;
        let mut v2_unstated = rule("", "c", 1, true);
        v2_unstated.delete_marker_replication = None;
        let mut v2_disabled = rule("", "d", 1, true);
        v2_disabled.delete_marker_replication = Some(false);
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![v1, v2_unstated, v2_disabled],
        };
        assert_eq!(buckets(&rules.coverage("k", Some(&[]), true, None)), ["b"]);
    }

    #[test]
    fn kms_objects_are_ineligible_where_the_rule_does_not_select_them() {
        let mut selecting = rule("", "b", 1, true);
        selecting.sse_kms_objects = true;
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![selecting, rule("", "c", 2, true)],
        };
        let kms = ObjectTraits {
            kms_encrypted: true,
            archive_class: None,
        };
        let coverage = rules.coverage("k", None, false, Some(&kms));
        assert_eq!(buckets(&coverage), ["b"]);
        assert_eq!(coverage.ineligible.len(), 1);
        assert_eq!(coverage.ineligible[0].0.bucket, "c");
        assert_eq!(coverage.ineligible[0].1, Ineligibility::KmsNotSelected);
        let plain = rules.coverage("k", None, false, Some(&ObjectTraits::default()));
        assert_eq!(buckets(&plain), ["b", "c"]);
        // Unknown traits (before the source HEAD): every covering rule counts.
        assert_eq!(buckets(&rules.coverage("k", None, false, None)), ["b", "c"]);
    }

    #[test]
    fn archived_objects_are_ineligible_everywhere_and_say_so_as_coverage() {
        let mut selecting = rule("", "b", 1, true);
        selecting.sse_kms_objects = true;
        let rules = ReplicationRules {
            role_arn: String::new(),
            rules: vec![selecting],
        };
        let archived = ObjectTraits {
            kms_encrypted: false,
            archive_class: ArchiveClass::from_head(Some("DEEP_ARCHIVE"), None),
        };
        let coverage = rules.coverage("k", None, false, Some(&archived));
        assert!(coverage.destinations.is_empty());
        assert_eq!(
            coverage.rule_coverage(),
            RuleCoverage::Ineligible(Ineligibility::ArchiveStorageClass(
                ArchiveClass::DeepArchive
            ))
        );
        assert!(!coverage.excluded_by_tags);
    }

    #[test]
    fn only_archive_classes_and_archived_tiers_are_archive_classes() {
        for (class, status, expected) in [
            (Some("GLACIER"), None, Some(ArchiveClass::Glacier)),
            (Some("DEEP_ARCHIVE"), None, Some(ArchiveClass::DeepArchive)),
            (Some("GLACIER_IR"), None, None),
            (Some("STANDARD_IA"), None, None),
            (None, None, None),
            (Some("INTELLIGENT_TIERING"), None, None),
            (
                Some("INTELLIGENT_TIERING"),
                Some("ARCHIVE_ACCESS"),
                Some(ArchiveClass::IntelligentTieringArchive),
            ),
            (
                Some("INTELLIGENT_TIERING"),
                Some("DEEP_ARCHIVE_ACCESS"),
                Some(ArchiveClass::IntelligentTieringDeepArchive),
            ),
        ] {
            assert_eq!(
                ArchiveClass::from_head(class, status),
                expected,
                "{class:?} {status:?}"
            );
        }
    }

    #[test]
    fn bucket_arn_becomes_a_name() {
        assert_eq!(bucket_name_from_arn("arn:aws:s3:::my-bucket"), "my-bucket");
        assert_eq!(bucket_name_from_arn("my-bucket"), "my-bucket");
    }
}
