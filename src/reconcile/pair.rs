//! Whether two S3 Inventory reports can be a source and its destination, by what their manifests
//! say (before a row is read) and by what their rows show (after): each refusal names what is
//! wrong. One code for both engines (the local join and Athena).

use super::settings::Rules;

/// Two reports, as their manifests describe them.
pub struct ReportPair<'a> {
    pub source_bucket: &'a str,
    pub destination_bucket: &'a str,
    /// The report lists object versions (a `VersionId` column).
    pub source_versioned: bool,
    pub destination_versioned: bool,
    /// Where each report came from, for the messages.
    pub names: (&'a str, &'a str),
}

impl ReportPair<'_> {
    /// The same bucket twice, a "destination" the source's rules never replicate to (swapped
    /// manifests), or one report listing versions and the other not: each manifest's
    /// `sourceBucket` says whose report it is.
    pub fn refusal(&self, rules: &Rules) -> Option<String> {
        let (from, to) = (self.source_bucket, self.destination_bucket);
        if from == to {
            return Some(format!(
                "both manifests are reports of bucket {from}: give the source bucket's report as --source-manifest and the destination bucket's as --destination-manifest"
            ));
        }
        if let Rules::Read(Some(rules)) = rules {
            let destinations: Vec<&str> = rules
                .rules
                .iter()
                .map(|r| r.destination_bucket.as_str())
                .collect();
            if !destinations.contains(&to) {
                return Some(format!(
                    "{from}'s replication rules never replicate to {to} (they name {}): are the manifests swapped? --source-manifest is the report of the bucket that replicates",
                    if destinations.is_empty() { "no destination".to_string() } else { destinations.join(", ") }
                ));
            }
        }
        if self.source_versioned != self.destination_versioned {
            let (versioned, current) = if self.source_versioned {
                self.names
            } else {
                (self.names.1, self.names.0)
            };
            return Some(format!(
                "{versioned} lists object versions and {current} does not: reconcile two all-versions reports, or two current-version reports"
            ));
        }
        None
    }
}

/// The rows of both reports, as the local join or Athena counted them.
pub struct RowTotals {
    pub source: u64,
    pub destination: u64,
    /// Source rows whose status is REPLICA.
    pub source_replicas: u64,
}

impl RowTotals {
    /// What the rows show cannot be a source and its destination (`names`: where each report
    /// came from, for the message).
    pub fn odd_pair(
        &self,
        rules: &Rules,
        source_bucket: &str,
        names: Option<(&str, &str)>,
    ) -> Option<String> {
        let (source, destination) = match names {
            Some((source, destination)) => (format!(" ({source})"), format!(" ({destination})")),
            None => (String::new(), String::new()),
        };
        // An empty source report would make every destination row "deleted from the source".
        if self.source == 0 && self.destination > 0 {
            return Some(format!(
                "the source inventory{source} lists no object, the destination's{destination} lists {}: wrong manifest, or a report of an empty or new bucket? Nothing was judged",
                self.destination
            ));
        }
        // Swapped manifests, told by the rows: a "source" without replication rules whose every
        // version is a replica is the destination (a two-way bucket has rules of its own).
        let replicas = self.source_replicas;
        if !matches!(rules, Rules::Read(Some(_))) && replicas > 0 && replicas == self.source {
            return Some(format!(
                "every version in the source inventory{source} is a replica and {source_bucket} has no replication configuration the auditor can read: the manifests look swapped — --source-manifest is the report of the bucket that replicates"
            ));
        }
        None
    }
}
