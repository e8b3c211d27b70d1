//! `reconcile`: audit what already exists from two S3 Inventory reports (source and
//! destination) instead of HEADing every object (S3 user guide, "S3 Inventory").
//!
//! The reports are joined by (key, version id) in bounded memory and on every core
//! ([`join`]): when the destination side would not fit in the memory budget, both sides are
//! spilled to partition files in a temporary directory (hash of key and version), then joined
//! partition by partition. Each source row is judged by the auditor's own decision table
//! ([`crate::audit::decide`]) as if the two HEADs had answered what the inventories say, with
//! rule coverage from the source's replication configuration when it can be read. Destination
//! replicas with no source row are `source_gone`. Everything that needs re-driving goes to a
//! CSV manifest ready for S3 Batch Replication (`bucket,key[,version]`, keys URL-encoded, no
//! header).

pub mod athena;
mod error;
mod inventory;
pub mod join;
mod judge;
pub mod manifest;
mod outcome;
mod pair;
pub mod parquet;
mod settings;

pub use error::ReconcileError;
pub use inventory::Inventory;
use inventory::{partition_both, Counted};
use judge::{redrive_path, Context, Tally};
pub use outcome::{JoinInfo, Outcome, Redrive, RowCounts, MAX_REPORTED_FINDINGS};
pub use pair::{ReportPair, RowTotals};
pub use settings::{Rules, Settings};

use crate::audit::rules::Destination;
use crate::audit::Verdict;
use chrono::Utc;
use join::{Partitions, Progress, Queue, Sink};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// Removes a file when dropped (if it is still there).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Refuses two reports that cannot be a source and its destination ([`ReportPair::refusal`]).
fn check_pair(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
) -> Result<(), ReconcileError> {
    let pair = ReportPair {
        source_bucket: &source.manifest.source_bucket,
        destination_bucket: &destination.manifest.source_bucket,
        source_versioned: source.columns.version_id.is_some(),
        destination_versioned: destination.columns.version_id.is_some(),
        names: (&source.origin, &destination.origin),
    };
    match pair.refusal(rules) {
        Some(why) => Err(ReconcileError::Mismatch(why)),
        None => Ok(()),
    }
}

/// Joins the two inventories and judges every version. `rules` are the source bucket's.
pub fn reconcile(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
    settings: &Settings,
) -> Result<Outcome, ReconcileError> {
    check_pair(source, destination, rules)?;
    let destination_bucket = destination.manifest.source_bucket.clone();
    let account = match rules {
        Rules::Read(Some(rules)) => rules.account_of(&destination_bucket),
        _ => None,
    };
    let redrive = RedriveFile::create(settings)?;
    let context = Context {
        settings,
        rules,
        source_bucket: source.manifest.source_bucket.clone(),
        destination: Destination::new(destination_bucket, account),
        // The statuses are what S3 saw when it took the source inventory: ages count to then.
        now: source.manifest.created().unwrap_or_else(Utc::now),
        redrive: redrive.as_ref().map(|file| &file.writer),
        versioned: source.columns.version_id.is_some(),
    };
    let rows = Rows {
        source: Progress::new("source", settings.progress),
        destination: Progress::new("destination", settings.progress),
    };
    let mut plan = JoinPlan::new(destination, settings);
    // The index of the whole destination, if it fits the budget; the estimate comes from the
    // data files' sizes, so loading stops (and the join spills) when the real rows are larger.
    let loaded = if plan.partitions == 1 {
        load_destination(destination, &mut plan, &rows.destination)?
    } else {
        None
    };
    let tally = match loaded {
        Some(bytes) => join_in_memory(&context, source, &bytes, plan.workers, &rows.source)?,
        None => join_spilled(&context, source, destination, &plan, &rows)?,
    };
    refuse_odd_rows(source, destination, rules, &context, &tally, &rows)?;
    let buckets = (context.source_bucket, context.destination.bucket);
    let redrive = match redrive {
        Some(file) => Some(file.finish(settings)?),
        None => None,
    };
    Ok(outcome(
        buckets, tally, rows, &plan, rules, redrive, settings,
    ))
}

/// The rows read from each side so far.
struct Rows {
    source: Progress,
    destination: Progress,
}

/// How the join runs: in memory (one partition) or spilled, with each worker's share.
struct JoinPlan {
    partitions: u64,
    workers: usize,
    budget: u64,
    /// One partition's index per worker at a time.
    share: u64,
    /// The destination's decoded size, estimated from its files.
    estimate: u64,
}

impl JoinPlan {
    fn new(destination: &Inventory, settings: &Settings) -> Self {
        let workers = settings.workers.max(1);
        let budget = settings.memory_budget_bytes.max(1);
        let share = (budget / workers as u64).max(1);
        let estimate = destination.estimated_bytes();
        let partitions = if estimate <= budget {
            1
        } else {
            // Small enough for the worker's share, and for the partitions both workers join at
            // once to stay mostly in the last-level cache (the probes are random reads).
            estimate
                .div_ceil(share)
                .max(estimate.div_ceil(join::CACHED_PARTITION_ESTIMATE))
                .clamp(2, join::MAX_FANOUT)
        };
        Self {
            partitions,
            workers,
            budget,
            share,
            estimate,
        }
    }

    /// The destination turned out larger than its estimate: spill it after all.
    fn spill(&mut self) {
        self.partitions = (self.estimate.max(self.budget) * 4)
            .div_ceil(self.share)
            .clamp(2, join::MAX_FANOUT);
    }
}

/// The destination's rows in one index's bytes, or `None` (and the plan spills) when they do
/// not fit the budget after all.
fn load_destination(
    destination: &Inventory,
    plan: &mut JoinPlan,
    destination_rows: &Progress,
) -> Result<Option<Vec<u8>>, ReconcileError> {
    let memory = Partitions::in_memory(plan.budget);
    match destination.partition(&memory, plan.workers, destination_rows) {
        Err(ReconcileError::OverBudget) => {
            destination_rows.reset();
            plan.spill();
            Ok(None)
        }
        Err(error) => Err(error),
        Ok(()) => Ok(Some(match memory.finish()?.pop() {
            Some(mut sink) => sink.read()?,
            None => Vec::new(),
        })),
    }
}

/// Source rows stream past the shared index of the whole destination, a file per worker at a
/// time; destination rows no source row took are judged last.
fn join_in_memory(
    context: &Context<'_>,
    source: &Inventory,
    destination: &[u8],
    workers: usize,
    source_rows: &Progress,
) -> Result<Tally, ReconcileError> {
    let index = join::Index::build(destination);
    let queue = Queue::new(source.files.len());
    let tallies = join::on_workers(workers, &queue, || {
        let mut tally = Tally::default();
        while let Some(file) = queue.take() {
            let mut counted = Counted::new(source_rows);
            source.for_each_row(file, |row| {
                counted.add();
                if index.take_row(row) {
                    context.matched(&mut tally, &row.replication_status);
                    Ok(())
                } else {
                    context.source(&mut tally, row, None)
                }
            })?;
        }
        Ok(tally)
    })?;
    let mut tally = tallies.into_iter().fold(Tally::default(), Tally::merge);
    index.for_each_unmatched(|row| context.orphan(&mut tally, row))?;
    Ok(tally)
}

/// Both sides spilled to partition files by hash of key and version, then joined partition
/// pair by partition pair on every worker.
fn join_spilled(
    context: &Context<'_>,
    source: &Inventory,
    destination: &Inventory,
    plan: &JoinPlan,
    rows: &Rows,
) -> Result<Tally, ReconcileError> {
    let settings = context.settings;
    if settings.progress {
        eprintln!(
            "reconcile: the destination inventory (~{} MB decoded) exceeds the memory budget ({} MB): spilling both sides to {} partitions in {}",
            plan.estimate.max(plan.budget) / 1_000_000,
            plan.budget / 1_000_000,
            plan.partitions,
            settings.spill_dir.display()
        );
    }
    // Each worker's buffers and the files' writers of both sides within half the budget.
    let buffers = plan.budget / (4 * (plan.workers as u64 + 1));
    let destination_files = Partitions::files(
        &settings.spill_dir,
        "destination",
        plan.partitions,
        0,
        buffers,
    )?;
    let source_files =
        Partitions::files(&settings.spill_dir, "source", plan.partitions, 0, buffers)?;
    partition_both(
        [
            (destination, &destination_files, &rows.destination),
            (source, &source_files, &rows.source),
        ],
        plan.workers,
    )?;
    let pairs: Vec<Mutex<Option<(Sink, Sink)>>> = destination_files
        .finish()?
        .into_iter()
        .zip(source_files.finish()?)
        .map(|pair| Mutex::new(Some(pair)))
        .collect();
    let queue = Queue::new(pairs.len());
    let tallies = join::on_workers(plan.workers, &queue, || {
        let mut tally = Tally::default();
        let mut bytes = Vec::new();
        while let Some(index) = queue.take() {
            let pair = pairs[index]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(pair) = pair {
                let name = format!("p{index}");
                join_within(context, &mut tally, pair, plan.share, &name, 1, &mut bytes)?;
            }
        }
        Ok(tally)
    })?;
    Ok(tallies.into_iter().fold(Tally::default(), Tally::merge))
}

/// Refuses what the rows show cannot be a source and its destination.
fn refuse_odd_rows(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
    context: &Context<'_>,
    tally: &Tally,
    rows: &Rows,
) -> Result<(), ReconcileError> {
    let totals = RowTotals {
        source: rows.source.get(),
        destination: rows.destination.get(),
        source_replicas: tally.source_replicas,
    };
    match totals.odd_pair(
        rules,
        &context.source_bucket,
        Some((&source.origin, &destination.origin)),
    ) {
        Some(why) => Err(ReconcileError::Mismatch(why)),
        None => Ok(()),
    }
}

/// The re-drive manifest, written beside its path and renamed there when complete: a failed
/// run never leaves a manifest that looks whole (what is left of it is removed when dropped).
struct RedriveFile {
    writer: Mutex<(BufWriter<File>, u64)>,
    partial: RemoveOnDrop,
}

impl RedriveFile {
    fn create(settings: &Settings) -> Result<Option<Self>, ReconcileError> {
        let Some(path) = &settings.redrive else {
            return Ok(None);
        };
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        let file = File::create(&partial).map_err(|source| ReconcileError::Redrive {
            path: partial.display().to_string(),
            source,
        })?;
        Ok(Some(Self {
            writer: Mutex::new((BufWriter::new(file), 0)),
            partial: RemoveOnDrop(partial),
        }))
    }

    fn finish(self, settings: &Settings) -> Result<Redrive, ReconcileError> {
        let (mut writer, objects) = self.writer.into_inner().unwrap_or_else(|e| e.into_inner());
        let error = |source| ReconcileError::Redrive {
            path: redrive_path(settings),
            source,
        };
        writer.flush().map_err(error)?;
        if let Some(path) = &settings.redrive {
            std::fs::rename(&self.partial.0, path).map_err(error)?;
        }
        Ok(Redrive {
            path: redrive_path(settings),
            objects,
        })
    }
}

/// The report of a finished join.
fn outcome(
    (source_bucket, destination_bucket): (String, String),
    tally: Tally,
    rows: Rows,
    plan: &JoinPlan,
    rules: &Rules,
    redrive: Option<Redrive>,
    settings: &Settings,
) -> Outcome {
    let Tally {
        counts,
        mut findings,
        truncated,
        alarming,
        destination_only,
        ..
    } = tally;
    // Workers finish in any order: the report lists findings by key, then version.
    findings.sort_by(|a, b| (&a.key, &a.version_id).cmp(&(&b.key, &b.version_id)));
    findings.truncate(MAX_REPORTED_FINDINGS);
    Outcome {
        source_bucket,
        destination_bucket,
        counts: Verdict::ALL
            .iter()
            .zip(counts)
            .map(|(v, n)| (v.as_str(), n))
            .collect(),
        rows: RowCounts {
            source: rows.source.get(),
            destination: rows.destination.get(),
            destination_only,
        },
        findings_truncated: truncated || alarming > findings.len() as u64,
        findings,
        alarming,
        join: JoinInfo {
            partitions: plan.partitions,
            spilled: plan.partitions > 1,
            memory_budget_bytes: settings.memory_budget_bytes,
        },
        rules: rules.describe(),
        redrive,
        metrics: None,
    }
}

/// Joins one spilled partition pair within `share` bytes of memory, splitting it again (a
/// new hash seed per level) while its destination side is larger.
/// `bytes`: the worker's buffer for a destination side (reused).
fn join_within(
    context: &Context<'_>,
    tally: &mut Tally,
    (destination, source): (Sink, Sink),
    share: u64,
    name: &str,
    depth: u64,
    bytes: &mut Vec<u8>,
) -> Result<(), ReconcileError> {
    let needed = destination.index_bytes();
    if needed <= share || depth > 8 {
        join::join_partition(destination, source, bytes, &mut |joined| match joined {
            join::Joined::Matched { source_status } => {
                context.matched(tally, source_status);
                Ok(())
            }
            join::Joined::Unmatched(row) => context.source(tally, row, None),
            join::Joined::Orphan(row) => context.orphan(tally, row),
        })?;
        return Ok(());
    }
    let fanout = needed.div_ceil(share).clamp(2, join::MAX_FANOUT);
    let pairs = join::split(
        &context.settings.spill_dir,
        name,
        destination,
        source,
        fanout,
        depth,
        share,
    )?;
    for (index, pair) in pairs.into_iter().enumerate() {
        let name = format!("{name}.{index}");
        join_within(context, tally, pair, share, &name, depth + 1, bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::ReplicationRules;
    use crate::audit::VerdictPolicy;
    use crate::event::keys::encode_event_key;
    use chrono::DateTime;
    use flate2::write::GzEncoder;
    use manifest::Row;
    use std::path::Path;

    /// A one-file CSV inventory of `rows` (key, status) in `dir`, as `aws s3 sync` lays it out.
    fn inventory(dir: &Path, bucket: &str, rows: &[(String, &str)]) -> Inventory {
        let rows: Vec<(String, &str, &str)> =
            rows.iter().map(|(k, s)| (k.clone(), "v1", *s)).collect();
        versioned_inventory(dir, bucket, &rows)
    }

    /// The same, with each row's version id (empty: the null version).
    fn versioned_inventory(dir: &Path, bucket: &str, rows: &[(String, &str, &str)]) -> Inventory {
        let data_key = format!("inventory/{bucket}/data/part-0.csv.gz");
        let mut gzip = GzEncoder::new(Vec::new(), flate2::Compression::best());
        for (key, version, status) in rows {
            let line = format!(
                "\"{bucket}\",\"{}\",\"{version}\",\"{status}\"\n",
                encode_event_key(key)
            );
            gzip.write_all(line.as_bytes()).unwrap();
        }
        let body = gzip.finish().unwrap();
        std::fs::create_dir_all(dir.join(format!("inventory/{bucket}/data"))).unwrap();
        std::fs::write(dir.join(&data_key), &body).unwrap();
        let manifest = serde_json::json!({
            "sourceBucket": bucket,
            "destinationBucket": "arn:aws:s3:::reports",
            "creationTimestamp": "1764032400000",
            "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, VersionId, ReplicationStatus",
            "files": [{"key": data_key, "size": body.len(), "MD5checksum": ""}],
        });
        let path = dir.join(format!("inventory/{bucket}/manifest.json"));
        std::fs::write(&path, manifest.to_string()).unwrap();
        Inventory::local(&path).unwrap()
    }

    /// Rows that compress far better than the estimate assumes: the estimate says they fit the
    /// budget, the real rows do not, and the join spills instead of outgrowing the budget.
    #[test]
    fn a_destination_larger_than_its_estimate_spills_instead_of_outgrowing_the_budget() {
        let dir = std::env::temp_dir().join(format!("reconcile-over-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = |i: usize| format!("{}/{i:06}", "same prefix ".repeat(20));
        let source: Vec<(String, &str)> = (0..3000).map(|i| (key(i), "COMPLETED")).collect();
        let replicas: Vec<(String, &str)> = (0..3000)
            .filter(|i| i % 100 != 0)
            .map(|i| (key(i), "REPLICA"))
            .collect();
        let source = inventory(&dir, "src", &source);
        let destination = inventory(&dir, "dst", &replicas);
        let budget = destination.estimated_bytes() + 1;
        let settings = Settings {
            policy: VerdictPolicy {
                late_after: chrono::Duration::seconds(900),
                alarm_on_unreplicated: true,
            },
            memory_budget_bytes: budget,
            spill_dir: dir.clone(),
            redrive: None,
            progress: false,
            workers: 2,
        };
        let outcome = reconcile(&source, &destination, &Rules::NotAsked, &settings).unwrap();
        assert!(outcome.join.spilled, "{:?}", outcome.join);
        assert_eq!(
            (outcome.counts["replicated"], outcome.counts["missing"]),
            (2970, 30)
        );
        assert_eq!(
            (outcome.rows.source, outcome.rows.destination),
            (3000, 2970)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The fast path for matched rows ([`Context::matched`]) against the full one
    /// ([`Context::source`] with the replica, through `decide`): the same counts, replica
    /// tally, alarms, findings and re-drive lines for every kind of source row, replica row
    /// and rule configuration.
    #[test]
    fn a_matched_row_is_judged_as_decide_judges_it() {
        use crate::audit::rules::{ReplicationRule, RuleSchema};
        let dir = std::env::temp_dir().join(format!("reconcile-fast-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let now = DateTime::from_timestamp_millis(1_764_032_400_000).unwrap();
        let rule = |prefix: &str, to: &str, tags: bool, markers: Option<bool>| ReplicationRule {
            enabled: true,
            schema: RuleSchema::V2,
            prefix: prefix.into(),
            tags: if tags {
                vec![("team".into(), "a".into())]
            } else {
                Vec::new()
            },
            delete_marker_replication: markers,
            destination_bucket: to.into(),
            ..ReplicationRule::default()
        };
        let rules = [
            Rules::NotAsked,
            Rules::Read(None),
            Rules::Unreadable("denied".into()),
            Rules::Read(Some(ReplicationRules {
                role_arn: "arn:aws:iam::1:role/r".into(),
                rules: vec![rule("", "dst", false, Some(true))],
            })),
            Rules::Read(Some(ReplicationRules {
                role_arn: "arn:aws:iam::1:role/r".into(),
                rules: vec![
                    rule("logs/", "dst", false, Some(false)),
                    rule("tagged/", "dst", true, None),
                    rule("other/", "elsewhere", false, Some(true)),
                ],
            })),
        ];
        let statuses = [
            "COMPLETED",
            "COMPLETE",
            "PENDING",
            "FAILED",
            "REPLICA",
            " replica ",
            "",
            "WEIRD",
        ];
        let ages = [None, Some(60), Some(3600), Some(-60)];
        let keys = ["a.txt", "logs/x", "tagged/y", "other/z"];
        let row_of = |key: &str, version: &str, marker: bool, status: &str, age: Option<i64>| Row {
            key: key.into(),
            version_id: version.into(),
            is_latest: Some(!marker),
            is_delete_marker: marker,
            size: (!marker).then_some(5),
            last_modified: age.map(|a| now - chrono::Duration::seconds(a)),
            etag: if marker { String::new() } else { "e".into() },
            replication_status: status.into(),
        };
        let mut replicas = Vec::new();
        for marker in [false, true] {
            for status in ["REPLICA", "", "COMPLETED"] {
                replicas.push(row_of("a", "v1", marker, status, Some(30)));
            }
        }
        let mut cases = 0;
        for rules in &rules {
            for late_after in [900, 0] {
                for alarm_on_unreplicated in [true, false] {
                    let settings = Settings {
                        policy: VerdictPolicy {
                            late_after: chrono::Duration::seconds(late_after),
                            alarm_on_unreplicated,
                        },
                        memory_budget_bytes: 1 << 20,
                        spill_dir: dir.clone(),
                        redrive: None,
                        progress: false,
                        workers: 1,
                    };
                    let redrive = File::create(dir.join("redrive.csv")).unwrap();
                    let redrive = Mutex::new((BufWriter::new(redrive), 0));
                    let context = Context {
                        settings: &settings,
                        rules,
                        source_bucket: "src".into(),
                        destination: Destination::new("dst", None),
                        now,
                        redrive: Some(&redrive),
                        versioned: true,
                    };
                    for key in keys {
                        for version in ["v1", ""] {
                            for marker in [false, true] {
                                for status in statuses {
                                    for age in ages {
                                        let row = row_of(key, version, marker, status, age);
                                        for replica in &replicas {
                                            let (mut full, mut fast) =
                                                (Tally::default(), Tally::default());
                                            context.source(&mut full, &row, Some(replica)).unwrap();
                                            context.matched(&mut fast, &row.replication_status);
                                            assert_eq!(
                                                full.counts, fast.counts,
                                                "{row:?} {replica:?}"
                                            );
                                            assert_eq!(
                                                full.source_replicas, fast.source_replicas,
                                                "{row:?}"
                                            );
                                            assert_eq!(
                                                (
                                                    full.alarming,
                                                    full.findings.len(),
                                                    full.truncated,
                                                    full.destination_only
                                                ),
                                                (
                                                    fast.alarming,
                                                    fast.findings.len(),
                                                    fast.truncated,
                                                    fast.destination_only
                                                ),
                                                "{row:?} {replica:?}"
                                            );
                                            cases += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    drop(context);
                    let lines = redrive.into_inner().unwrap().1;
                    assert_eq!(lines, 0, "a matched row is never re-driven");
                }
            }
        }
        assert!(cases > 10_000, "{cases}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// S3 Batch Operations wants a version on every line of a versioned manifest or on none:
    /// an object written before versioning (the null version, an empty VersionId) is `null`.
    #[test]
    fn the_redrive_manifest_names_the_null_version_and_appears_only_when_complete() {
        let dir = std::env::temp_dir().join(format!("reconcile-null-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let source = versioned_inventory(
            &dir,
            "src",
            &[
                ("old.txt".into(), "", "COMPLETED"),
                ("new.txt".into(), "v9", "FAILED"),
            ],
        );
        let destination = versioned_inventory(&dir, "dst", &[("other".into(), "v1", "")]);
        let path = dir.join("redrive.csv");
        let settings = Settings {
            policy: VerdictPolicy {
                late_after: chrono::Duration::seconds(900),
                alarm_on_unreplicated: true,
            },
            memory_budget_bytes: 1 << 20,
            spill_dir: dir.clone(),
            redrive: Some(path.clone()),
            progress: false,
            workers: 2,
        };
        reconcile(&source, &destination, &Rules::NotAsked, &settings).unwrap();
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        assert_eq!(lines, ["src,new.txt,v9", "src,old.txt,null"]);
        assert!(!dir.join("redrive.csv.partial").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
