//! A source bucket's replication configuration, reduced to what the audit needs: which
//! destination buckets (in which accounts) a version replicates to, evaluated as S3 does.
//!
//! S3 user guide, "Replication configuration file elements" and the `Priority` element of the
//! API reference: a rule covers an object when its whole filter matches — the key prefix *and*
//! every tag of the filter; "if there are two or more rules with the same destination bucket,
//! then objects will be replicated according to the rule with the highest priority". A
//! disabled rule does not replicate. Delete markers replicate only under a rule whose
//! `DeleteMarkerReplication` is `Enabled`, and rules with tag filters cannot replicate delete
//! markers (a delete marker has no tags).

/// One rule of a replication configuration (adapters translate the SDK's shape into this).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicationRule {
    pub id: Option<String>,
    pub priority: Option<i32>,
    pub enabled: bool,
    /// Key prefix the rule covers ("" for every key); V2 `Filter`/`And` or the V1 rule prefix.
    pub prefix: String,
    /// Tags an object must all carry (`Filter.Tag` or `Filter.And.Tags`).
    pub tags: Vec<(String, String)>,
    /// `DeleteMarkerReplication.Status == Enabled`.
    pub delete_marker_replication: bool,
    /// Destination bucket *name* (taken from the `arn:aws:s3:::name` ARN).
    pub destination_bucket: String,
    /// `Destination.Account`: the destination bucket owner's account id, when stated.
    pub destination_account: Option<String>,
}

impl ReplicationRule {
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

/// Which destinations a version goes to, per the configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    pub destinations: Vec<Destination>,
    /// Some enabled rule's prefix covers the key but its tags do not match: the filter
    /// deliberately leaves this object out.
    pub excluded_by_tags: bool,
}

impl Coverage {
    /// What the verdict needs to know: covered (some destination), left out by a tag filter on
    /// purpose, or not covered by any rule.
    pub fn rule_coverage(&self) -> crate::audit::verdict::RuleCoverage {
        use crate::audit::verdict::RuleCoverage;
        if !self.destinations.is_empty() {
            RuleCoverage::Covered
        } else if self.excluded_by_tags {
            RuleCoverage::ExcludedByTags
        } else {
            RuleCoverage::NotCovered
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicationRules {
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
    /// valid when [`Self::needs_tags`] is false); `delete_marker` for a delete marker.
    /// Per destination bucket, the highest-priority matching rule decides, and only an
    /// enabled one replicates.
    pub fn coverage(
        &self,
        key: &str,
        tags: Option<&[(String, String)]>,
        delete_marker: bool,
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
        let destinations = chosen
            .into_iter()
            .filter(|r| r.enabled)
            .filter(|r| !delete_marker || (r.delete_marker_replication && r.tags.is_empty()))
            .map(|r| Destination::new(&r.destination_bucket, r.destination_account.clone()))
            .collect::<Vec<_>>();
        Coverage {
            excluded_by_tags: excluded_by_tags && destinations.is_empty(),
            destinations,
        }
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
            rules: vec![rule("", "b", 1, true)],
        };
        assert_eq!(buckets(&rules.coverage("any/key.png", None, false)), ["b"]);
    }

    #[test]
    fn prefix_outside_the_filter_is_not_covered() {
        let rules = ReplicationRules {
            rules: vec![rule("docs/", "b", 1, true)],
        };
        let coverage = rules.coverage("img/a.png", None, false);
        assert!(coverage.destinations.is_empty());
        assert!(!coverage.excluded_by_tags);
    }

    #[test]
    fn highest_priority_rule_decides_per_destination() {
        let rules = ReplicationRules {
            rules: vec![rule("", "b", 1, true), rule("tmp/", "b", 5, false)],
        };
        assert!(rules.coverage("tmp/x", None, false).destinations.is_empty());
        assert_eq!(buckets(&rules.coverage("data/x", None, false)), ["b"]);
    }

    #[test]
    fn several_destinations_are_all_reported_with_their_accounts() {
        let mut second = rule("", "b2", 2, true);
        second.destination_account = Some("333333333333".into());
        let rules = ReplicationRules {
            rules: vec![rule("", "b1", 1, true), second],
        };
        let coverage = rules.coverage("k", None, false);
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
            rules: vec![tagged(rule("", "b", 1, true), "replicate", "yes")],
        };
        assert!(rules.needs_tags("any"));
        let yes = rules.coverage("k", Some(&tags(&[("replicate", "yes")])), false);
        assert_eq!(buckets(&yes), ["b"]);
        let untagged = rules.coverage("k", Some(&[]), false);
        assert!(untagged.destinations.is_empty());
        assert!(
            untagged.excluded_by_tags,
            "left out on purpose by the filter"
        );
    }

    #[test]
    fn tag_routing_sends_each_object_to_its_own_bucket() {
        let rules = ReplicationRules {
            rules: vec![
                tagged(rule("", "gold", 1, true), "tier", "gold"),
                tagged(rule("", "silver", 2, true), "tier", "silver"),
            ],
        };
        let gold = rules.coverage("k", Some(&tags(&[("tier", "gold")])), false);
        assert_eq!(buckets(&gold), ["gold"]);
        let silver = rules.coverage("k", Some(&tags(&[("tier", "silver"), ("x", "y")])), false);
        assert_eq!(buckets(&silver), ["silver"]);
    }

    #[test]
    fn tags_are_only_needed_where_a_tag_rule_prefix_covers_the_key() {
        let rules = ReplicationRules {
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
        markers.delete_marker_replication = true;
        let mut tag_rule = tagged(rule("", "c", 1, true), "t", "1");
        tag_rule.delete_marker_replication = true;
        let rules = ReplicationRules {
            rules: vec![markers, rule("", "d", 1, true), tag_rule],
        };
        assert_eq!(buckets(&rules.coverage("k", Some(&[]), true)), ["b"]);
    }

    #[test]
    fn bucket_arn_becomes_a_name() {
        assert_eq!(bucket_name_from_arn("arn:aws:s3:::my-bucket"), "my-bucket");
        assert_eq!(bucket_name_from_arn("my-bucket"), "my-bucket");
    }
}
