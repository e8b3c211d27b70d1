//! A source bucket's replication configuration, reduced to what the audit needs: which
//! destination buckets a key replicates to.

/// One rule of a replication configuration (adapters translate the SDK's shape into this).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationRule {
    pub id: Option<String>,
    pub priority: Option<i32>,
    pub enabled: bool,
    /// Key prefix the rule covers ("" for every key); V2 `Filter`/`And` or the V1 rule prefix.
    pub prefix: String,
    /// The rule also filters on object tags, which the auditor does not read.
    pub has_tag_filter: bool,
    /// Destination bucket *name* (taken from the `arn:aws:s3:::name` ARN).
    pub destination_bucket: String,
}

/// Which destinations a key goes to, per the configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    pub destinations: Vec<String>,
    /// Some covering rule filters on tags: coverage depends on tags we did not read.
    pub depends_on_tags: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicationRules {
    pub rules: Vec<ReplicationRule>,
}

impl ReplicationRules {
    /// Destinations of `key`: per destination the highest-priority covering rule decides, and
    /// only when it is enabled (S3's rule for overlapping V2 rules).
    pub fn coverage(&self, key: &str) -> Coverage {
        let mut chosen: Vec<&ReplicationRule> = Vec::new();
        for rule in self.rules.iter().filter(|r| key.starts_with(&r.prefix)) {
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
        let enabled: Vec<&ReplicationRule> = chosen.into_iter().filter(|r| r.enabled).collect();
        Coverage {
            depends_on_tags: enabled.iter().any(|r| r.has_tag_filter),
            destinations: enabled
                .iter()
                .map(|r| r.destination_bucket.clone())
                .collect(),
        }
    }

    /// Every destination named by an enabled rule (for reporting when a key is not covered).
    pub fn all_destinations(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.enabled) {
            if !all.contains(&rule.destination_bucket) {
                all.push(rule.destination_bucket.clone());
            }
        }
        all
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
            has_tag_filter: false,
            destination_bucket: dest.into(),
        }
    }

    #[test]
    fn empty_prefix_covers_every_key() {
        let rules = ReplicationRules {
            rules: vec![rule("", "b", 1, true)],
        };
        assert_eq!(rules.coverage("any/key.png").destinations, vec!["b"]);
    }

    #[test]
    fn prefix_outside_the_filter_is_not_covered() {
        let rules = ReplicationRules {
            rules: vec![rule("docs/", "b", 1, true)],
        };
        assert!(rules.coverage("img/a.png").destinations.is_empty());
    }

    #[test]
    fn highest_priority_rule_decides_per_destination() {
        let rules = ReplicationRules {
            rules: vec![rule("", "b", 1, true), rule("tmp/", "b", 5, false)],
        };
        assert!(rules.coverage("tmp/x").destinations.is_empty());
        assert_eq!(rules.coverage("data/x").destinations, vec!["b"]);
    }

    #[test]
    fn several_destinations_are_all_reported() {
        let rules = ReplicationRules {
            rules: vec![rule("", "b1", 1, true), rule("", "b2", 2, true)],
        };
        assert_eq!(rules.coverage("k").destinations, vec!["b1", "b2"]);
    }

    #[test]
    fn tag_filters_are_flagged() {
        let mut tagged = rule("", "b", 1, true);
        tagged.has_tag_filter = true;
        assert!(
            ReplicationRules {
                rules: vec![tagged]
            }
            .coverage("k")
            .depends_on_tags
        );
    }

    #[test]
    fn bucket_arn_becomes_a_name() {
        assert_eq!(bucket_name_from_arn("arn:aws:s3:::my-bucket"), "my-bucket");
        assert_eq!(bucket_name_from_arn("my-bucket"), "my-bucket");
    }
}
