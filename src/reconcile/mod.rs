//! `reconcile`: audit what already exists from two S3 Inventory reports (source and
//! destination) instead of HEADing every object (S3 user guide, "S3 Inventory").
//!
//! The reports are joined by (key, version id) in bounded memory: when the destination side
//! would not fit in the memory budget, both sides are first spilled to partition files in a
//! temporary directory (hash of key and version), then joined partition by partition. Each
//! source row is judged by the auditor's own decision table ([`crate::audit::decide`]) as if
//! the two HEADs had answered what the inventories say, with rule coverage from the source's
//! replication configuration when it can be read. Destination replicas with no source row are
//! `source_gone`. Everything that needs re-driving goes to a CSV manifest ready for S3 Batch
//! Replication (`bucket,key[,version]`, keys URL-encoded, no header).

pub mod manifest;
pub mod parquet;

use crate::audit::rules::{Destination, ReplicationRules};
use crate::audit::verdict::{AuditInput, RuleCoverage};
use crate::audit::{
    decide, Finding, ObjectFacts, ObjectRef, Origin, Probe, ReplicationStatus, Verdict,
    VerdictPolicy,
};
use crate::event::keys::{decode_event_key, encode_event_key};
use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use manifest::{parse_row, Columns, FileFormat, InventoryError, Manifest, Row};
use serde::Serialize;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Uncompressed CSV is about this many times its gzip size (inventory rows compress well).
const GZIP_EXPANSION: u64 = 8;
const MAX_PARTITIONS: u64 = 256;
/// Findings kept for the report; the counts and the re-drive manifest are always complete.
pub const MAX_REPORTED_FINDINGS: usize = 1000;
const PROGRESS_EVERY: u64 = 1_000_000;

/// One side's report, ready to read: its manifest and the local paths of its data files.
pub struct Inventory {
    pub manifest: Manifest,
    pub format: FileFormat,
    /// Where each column is, by `fileSchema` (a Parquet file's own schema decides for it).
    pub columns: Columns,
    pub files: Vec<PathBuf>,
    /// For messages: where the manifest came from.
    pub origin: String,
}

impl Inventory {
    /// A manifest and data files laid out as `aws s3 sync` of the report bucket leaves them:
    /// `<root>/<files[].key>`, the manifest somewhere below `<root>`.
    pub fn local(manifest_path: &Path) -> Result<Self, InventoryError> {
        let origin = manifest_path.display().to_string();
        let text = std::fs::read_to_string(manifest_path).map_err(|e| InventoryError::File {
            path: origin.clone(),
            reason: format!("cannot read the manifest: {e}"),
        })?;
        let manifest = Manifest::parse(&origin, &text)?;
        let first = manifest.files.first().map(|f| f.key.clone());
        let root = manifest_path
            .ancestors()
            .skip(1)
            .find(|dir| first.as_ref().is_some_and(|key| dir.join(key).is_file()))
            .map(Path::to_path_buf);
        let mut files = Vec::with_capacity(manifest.files.len());
        for file in &manifest.files {
            let path = root.as_ref().map(|r| r.join(&file.key));
            match path {
                Some(path) if path.is_file() => files.push(path),
                _ => {
                    return Err(InventoryError::File {
                        path: origin,
                        reason: format!(
                            "the manifest names {}, which is not in this copy of the report bucket (expected <bucket root>/{})",
                            file.key, file.key
                        ),
                    })
                }
            }
        }
        Self::new(manifest, files, origin)
    }

    pub fn new(
        manifest: Manifest,
        files: Vec<PathBuf>,
        origin: String,
    ) -> Result<Self, InventoryError> {
        let format = manifest.format(&origin)?;
        let columns = Columns::from_names(&origin, &manifest.column_names(&origin)?)?;
        Ok(Self {
            manifest,
            format,
            columns,
            files,
            origin,
        })
    }

    /// Every row of every data file, in file order; the first unreadable one ends it.
    fn rows(&self) -> impl Iterator<Item = Result<Row, InventoryError>> + '_ {
        self.files.iter().flat_map(move |path| {
            let rows: Box<dyn Iterator<Item = Result<Row, InventoryError>>> = match self.format {
                FileFormat::Csv => csv_rows(path, self.columns.clone()),
                FileFormat::Parquet => match parquet::rows(path) {
                    Ok(rows) => Box::new(rows),
                    Err(error) => Box::new(std::iter::once(Err(error))),
                },
            };
            rows
        })
    }
}

/// Every row of one gzip CSV data file.
fn csv_rows(
    path: &Path,
    columns: Columns,
) -> Box<dyn Iterator<Item = Result<Row, InventoryError>>> {
    let name = path.display().to_string();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) => {
            return Box::new(std::iter::once(Err(InventoryError::File {
                path: name,
                reason: error.to_string(),
            })))
        }
    };
    let reader = BufReader::new(MultiGzDecoder::new(BufReader::new(file)));
    Box::new(
        reader
            .lines()
            .enumerate()
            .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.is_empty()))
            .map(move |(index, line)| {
                let line = line.map_err(|e| InventoryError::File {
                    path: name.clone(),
                    reason: format!("not a readable gzip CSV file: {e}"),
                })?;
                parse_row(&line, &columns).map_err(|reason| InventoryError::Row {
                    path: name.clone(),
                    line: index as u64 + 1,
                    reason,
                })
            }),
    )
}

/// How `reconcile` runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: VerdictPolicy,
    /// Memory the destination join table may take before both sides are spilled.
    pub memory_budget_bytes: u64,
    pub spill_dir: PathBuf,
    pub redrive: Option<PathBuf>,
    /// Print progress lines on stderr.
    pub progress: bool,
}

/// The source's replication configuration, as far as it could be read.
#[derive(Debug, Clone)]
pub enum Rules {
    Read(Option<ReplicationRules>),
    Unreadable(String),
    NotAsked,
}

/// What `reconcile` found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source_bucket: String,
    pub destination_bucket: String,
    /// Findings per verdict, every verdict present.
    pub counts: BTreeMap<&'static str, u64>,
    pub rows: RowCounts,
    /// The first alarming findings (at most [`MAX_REPORTED_FINDINGS`]).
    pub findings: Vec<Finding>,
    pub findings_truncated: bool,
    /// Alarming findings in all (the exit code).
    pub alarming: u64,
    pub join: JoinInfo,
    pub rules: String,
    pub redrive: Option<Redrive>,
    /// How the counts were published (`--metrics`), if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::metrics::Delivery>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RowCounts {
    pub source: u64,
    pub destination: u64,
    /// Destination rows with no source row that are not replicas (written there directly).
    pub destination_only: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JoinInfo {
    pub partitions: u64,
    pub spilled: bool,
    pub memory_budget_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Redrive {
    pub path: String,
    pub objects: u64,
}

impl Outcome {
    pub fn is_alarming(&self) -> bool {
        self.alarming > 0
    }

    /// The counts as the metrics of one (source, destination) pair, as an invocation has them.
    pub fn pair_metrics(&self) -> crate::metrics::PairMetrics {
        let counts: Vec<(Verdict, u64)> = Verdict::ALL
            .iter()
            .map(|v| (*v, self.counts.get(v.as_str()).copied().unwrap_or(0)))
            .collect();
        crate::metrics::PairMetrics {
            source_bucket: self.source_bucket.clone(),
            destination_bucket: self.destination_bucket.clone(),
            audited: counts.iter().map(|(_, n)| n).sum(),
            counts,
            retried: 0,
            lag_seconds: None,
        }
    }

    pub fn to_table(&self) -> String {
        let mut out = format!(
            "reconcile s3://{} -> s3://{}: {} source rows, {} destination rows\n",
            self.source_bucket, self.destination_bucket, self.rows.source, self.rows.destination
        );
        for f in self.findings.iter().take(50) {
            out.push_str(&format!(
                "{:<13} s3://{}/{}  {}  {}\n",
                f.verdict.as_str(),
                f.source_bucket,
                f.key,
                f.version_id.as_deref().unwrap_or("-"),
                f.detail.reason
            ));
        }
        if self.findings.len() > 50 || self.findings_truncated {
            out.push_str("... more alarming findings: see --output json and the counts\n");
        }
        let counts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        out.push_str(&format!("counts: {}\n", counts.join(", ")));
        out.push_str(&format!("rules: {}\n", self.rules));
        if let Some(redrive) = &self.redrive {
            out.push_str(&format!(
                "re-drive manifest: {} ({} objects; S3 Batch Replication CSV)\n",
                redrive.path, redrive.objects
            ));
        }
        if let Some(delivery) = self.metrics {
            out.push_str(&format!("metrics: {delivery:?}\n"));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("cannot use the spill directory {path}: {source}")]
    Spill {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the re-drive manifest {path}: {source}")]
    Redrive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The join key of a row: its key and version id.
type JoinKey = (String, String);

/// Accumulates verdicts, the reported findings and the re-drive manifest.
struct Judge<'a> {
    settings: &'a Settings,
    rules: &'a Rules,
    destination: Destination,
    now: DateTime<Utc>,
    counts: BTreeMap<&'static str, u64>,
    findings: Vec<Finding>,
    truncated: bool,
    alarming: u64,
    redrive: Option<(BufWriter<File>, u64)>,
}

impl Judge<'_> {
    fn coverage(&self, row: &Row) -> RuleCoverage {
        match self.rules {
            Rules::Read(None) => RuleCoverage::NoConfiguration,
            Rules::Read(Some(rules)) if !rules.needs_tags(&row.key) || row.is_delete_marker => {
                let coverage = rules.coverage(
                    &row.key,
                    row.is_delete_marker.then_some(&[][..]),
                    row.is_delete_marker,
                );
                if coverage
                    .destinations
                    .iter()
                    .any(|d| d.bucket == self.destination.bucket)
                    || coverage.destinations.is_empty()
                {
                    coverage.rule_coverage()
                } else {
                    // Covered, but by rules to other destinations only.
                    RuleCoverage::NotCovered
                }
            }
            // Inventories carry no tags: a tag filter cannot be evaluated from them.
            _ => RuleCoverage::Unknown,
        }
    }

    fn source(
        &mut self,
        bucket: &str,
        row: &Row,
        replica: Option<&Row>,
    ) -> Result<(), ReconcileError> {
        let object = ObjectRef {
            bucket: bucket.to_string(),
            key: row.key.clone(),
            version_id: Some(row.version_id.clone()).filter(|v| !v.is_empty()),
            // A delete marker's age counts from when it was written, as an event's would.
            event_time: row.last_modified,
            origin: Origin::Manual,
            events: Vec::new(),
        };
        let source = probe_of(row);
        let replica = replica.map_or(Probe::NotFound, probe_of);
        let coverage = self.coverage(row);
        // A delete marker no rule replicates here has no destination or replica to be judged by
        // (as the handler decides from the rules); a replica of it, if any, still says replicated.
        let unreplicated_marker = row.is_delete_marker
            && replica == Probe::NotFound
            && matches!(
                coverage,
                RuleCoverage::NotCovered | RuleCoverage::NoConfiguration
            );
        let input = AuditInput {
            object: &object,
            source: &source,
            destination: (!unreplicated_marker).then_some(&self.destination),
            replica: (!unreplicated_marker).then_some(&replica),
            current: None,
            coverage,
            now: self.now,
        };
        let finding = decide(&input, &self.settings.policy);
        self.record(finding)
    }

    /// A destination replica no source row names: its source version is gone.
    fn orphan(&mut self, source_bucket: &str, row: &Row) -> Result<(), ReconcileError> {
        let object = ObjectRef {
            bucket: source_bucket.to_string(),
            key: row.key.clone(),
            version_id: Some(row.version_id.clone()).filter(|v| !v.is_empty()),
            event_time: None,
            origin: Origin::Manual,
            events: Vec::new(),
        };
        let input = AuditInput {
            object: &object,
            source: &Probe::NotFound,
            destination: Some(&self.destination),
            replica: None,
            current: None,
            coverage: RuleCoverage::Unknown,
            now: self.now,
        };
        let finding = decide(&input, &self.settings.policy);
        self.record(finding)
    }

    fn record(&mut self, finding: Finding) -> Result<(), ReconcileError> {
        *self.counts.entry(finding.verdict.as_str()).or_default() += 1;
        if needs_redrive(&finding) {
            if let Some((writer, count)) = &mut self.redrive {
                let line = match finding.version_id.as_deref() {
                    Some(version) => format!(
                        "{},{},{}\n",
                        finding.source_bucket,
                        encode_event_key(&finding.key),
                        version
                    ),
                    None => format!(
                        "{},{}\n",
                        finding.source_bucket,
                        encode_event_key(&finding.key)
                    ),
                };
                writer
                    .write_all(line.as_bytes())
                    .map_err(|source| ReconcileError::Redrive {
                        path: redrive_path(self.settings),
                        source,
                    })?;
                *count += 1;
            }
        }
        if finding.alarming {
            self.alarming += 1;
            if self.findings.len() < MAX_REPORTED_FINDINGS {
                self.findings.push(finding);
            } else {
                self.truncated = true;
            }
        }
        Ok(())
    }
}

fn redrive_path(settings: &Settings) -> String {
    settings
        .redrive
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// What S3 Batch Replication can fix: versions that should be in the destination and are not.
fn needs_redrive(finding: &Finding) -> bool {
    finding.alarming
        && matches!(
            finding.verdict,
            Verdict::Missing | Verdict::Failed | Verdict::Late | Verdict::Unreplicated
        )
}

/// What a HEAD of this version would have answered, per the inventory row.
fn probe_of(row: &Row) -> Probe {
    if row.is_delete_marker {
        return Probe::DeleteMarker(Some(row.version_id.clone()).filter(|v| !v.is_empty()));
    }
    Probe::Found(ObjectFacts {
        version_id: Some(row.version_id.clone()).filter(|v| !v.is_empty()),
        replication_status: row
            .replication_status
            .as_deref()
            .map(ReplicationStatus::parse),
        size: row.size,
        etag: row.etag.clone(),
        last_modified: row.last_modified,
        kms_encrypted: false,
    })
}

fn partition_of(key: &JoinKey, partitions: u64) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % partitions) as usize
}

/// Partition files of one side: a row per line, tab-separated, the key URL-encoded.
struct Spill {
    paths: Vec<PathBuf>,
    writers: Vec<BufWriter<File>>,
}

impl Spill {
    fn create(dir: &Path, side: &str, partitions: u64) -> Result<Self, ReconcileError> {
        let mut paths = Vec::new();
        let mut writers = Vec::new();
        for index in 0..partitions {
            let path = dir.join(format!("{side}-{index}.tsv"));
            let file = File::create(&path).map_err(|source| ReconcileError::Spill {
                path: path.display().to_string(),
                source,
            })?;
            writers.push(BufWriter::new(file));
            paths.push(path);
        }
        Ok(Self { paths, writers })
    }

    fn write(&mut self, row: &Row, partitions: u64) -> Result<(), ReconcileError> {
        let key = (row.key.clone(), row.version_id.clone());
        let index = partition_of(&key, partitions);
        let flag = |b: Option<bool>| match b {
            Some(true) => "1",
            Some(false) => "0",
            None => "-",
        };
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            encode_event_key(&row.key),
            row.version_id,
            flag(row.is_latest),
            flag(Some(row.is_delete_marker)),
            row.size.map(|s| s.to_string()).unwrap_or_default(),
            row.last_modified
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            row.etag.as_deref().unwrap_or_default(),
            row.replication_status.as_deref().unwrap_or_default(),
        );
        self.writers[index]
            .write_all(line.as_bytes())
            .map_err(|source| ReconcileError::Spill {
                path: self.paths[index].display().to_string(),
                source,
            })
    }

    fn finish(self) -> Result<Vec<PathBuf>, ReconcileError> {
        for (mut writer, path) in self.writers.into_iter().zip(&self.paths) {
            writer.flush().map_err(|source| ReconcileError::Spill {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(self.paths)
    }
}

fn read_spilled(path: &Path) -> Result<Vec<Row>, ReconcileError> {
    let spill_error = |source| ReconcileError::Spill {
        path: path.display().to_string(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(spill_error)?);
    let mut rows = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(spill_error)?;
        let fields: Vec<&str> = line.split('\t').collect();
        let flag = |f: &str| match f {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        rows.push(Row {
            key: decode_event_key(fields[0]).unwrap_or_default(),
            version_id: fields[1].to_string(),
            is_latest: flag(fields[2]),
            is_delete_marker: flag(fields[3]) == Some(true),
            size: fields[4].parse().ok(),
            last_modified: DateTime::parse_from_rfc3339(fields[5])
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            etag: Some(fields[6].to_string()).filter(|s| !s.is_empty()),
            replication_status: Some(fields[7].to_string()).filter(|s| !s.is_empty()),
        });
    }
    Ok(rows)
}

/// Joins the two inventories and judges every version. `rules` are the source bucket's.
pub fn reconcile(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
    settings: &Settings,
) -> Result<Outcome, ReconcileError> {
    let source_bucket = source.manifest.source_bucket.clone();
    let destination_bucket = destination.manifest.source_bucket.clone();
    let account = match rules {
        Rules::Read(Some(rules)) => rules.account_of(&destination_bucket),
        _ => None,
    };
    let redrive = match &settings.redrive {
        Some(path) => {
            let file = File::create(path).map_err(|source| ReconcileError::Redrive {
                path: path.display().to_string(),
                source,
            })?;
            Some((BufWriter::new(file), 0))
        }
        None => None,
    };
    let mut judge = Judge {
        settings,
        rules,
        destination: Destination::new(destination_bucket.clone(), account),
        // The statuses are what S3 saw when it took the source inventory: ages count to then.
        now: source.manifest.created().unwrap_or_else(Utc::now),
        counts: Verdict::ALL.iter().map(|v| (v.as_str(), 0)).collect(),
        findings: Vec::new(),
        truncated: false,
        alarming: 0,
        redrive,
    };
    let estimate = destination.manifest.total_size() * GZIP_EXPANSION;
    let partitions = estimate
        .div_ceil(settings.memory_budget_bytes.max(1))
        .clamp(1, MAX_PARTITIONS);
    let mut counts = RowCounts::default();
    let progress = |what: &str, n: u64| {
        if settings.progress && n > 0 && n % PROGRESS_EVERY == 0 {
            eprintln!("reconcile: {n} {what} rows read");
        }
    };

    if partitions == 1 {
        let mut table: HashMap<JoinKey, Row> = HashMap::new();
        for row in destination.rows() {
            let row = row?;
            counts.destination += 1;
            progress("destination", counts.destination);
            table.insert((row.key.clone(), row.version_id.clone()), row);
        }
        for row in source.rows() {
            let row = row?;
            counts.source += 1;
            progress("source", counts.source);
            let replica = table.remove(&(row.key.clone(), row.version_id.clone()));
            judge.source(&source_bucket, &row, replica.as_ref())?;
        }
        orphans(&mut judge, &source_bucket, table.into_values(), &mut counts)?;
    } else {
        if settings.progress {
            eprintln!(
                "reconcile: the destination inventory (~{} MB uncompressed) exceeds the memory budget ({} MB): spilling both sides to {} partitions in {}",
                estimate / 1_000_000,
                settings.memory_budget_bytes / 1_000_000,
                partitions,
                settings.spill_dir.display()
            );
        }
        let mut spilled_destination =
            Spill::create(&settings.spill_dir, "destination", partitions)?;
        for row in destination.rows() {
            let row = row?;
            counts.destination += 1;
            progress("destination", counts.destination);
            spilled_destination.write(&row, partitions)?;
        }
        let mut spilled_source = Spill::create(&settings.spill_dir, "source", partitions)?;
        for row in source.rows() {
            let row = row?;
            counts.source += 1;
            progress("source", counts.source);
            spilled_source.write(&row, partitions)?;
        }
        let destination_parts = spilled_destination.finish()?;
        let source_parts = spilled_source.finish()?;
        for (destination_part, source_part) in destination_parts.iter().zip(&source_parts) {
            let mut table: HashMap<JoinKey, Row> = read_spilled(destination_part)?
                .into_iter()
                .map(|row| ((row.key.clone(), row.version_id.clone()), row))
                .collect();
            for row in read_spilled(source_part)? {
                let replica = table.remove(&(row.key.clone(), row.version_id.clone()));
                judge.source(&source_bucket, &row, replica.as_ref())?;
            }
            orphans(&mut judge, &source_bucket, table.into_values(), &mut counts)?;
            let _ = std::fs::remove_file(destination_part);
            let _ = std::fs::remove_file(source_part);
        }
    }

    let redrive = match judge.redrive.take() {
        Some((mut writer, objects)) => {
            writer.flush().map_err(|source| ReconcileError::Redrive {
                path: redrive_path(settings),
                source,
            })?;
            Some(Redrive {
                path: redrive_path(settings),
                objects,
            })
        }
        None => None,
    };
    Ok(Outcome {
        source_bucket,
        destination_bucket,
        counts: judge.counts,
        rows: counts,
        findings: judge.findings,
        findings_truncated: judge.truncated,
        alarming: judge.alarming,
        join: JoinInfo {
            partitions,
            spilled: partitions > 1,
            memory_budget_bytes: settings.memory_budget_bytes,
        },
        rules: match rules {
            Rules::Read(Some(_)) => {
                "read from the source bucket's replication configuration".into()
            }
            Rules::Read(None) => "the source bucket has no replication configuration".into(),
            Rules::Unreadable(why) => format!("unreadable ({why}): coverage unknown"),
            Rules::NotAsked => "not read (--offline): coverage unknown".into(),
        },
        redrive,
        metrics: None,
    })
}

/// Destination rows left after the join: replicas are `source_gone`, other rows counted.
fn orphans(
    judge: &mut Judge<'_>,
    source_bucket: &str,
    rows: impl Iterator<Item = Row>,
    counts: &mut RowCounts,
) -> Result<(), ReconcileError> {
    for row in rows {
        let is_replica = row
            .replication_status
            .as_deref()
            .map(ReplicationStatus::parse)
            == Some(ReplicationStatus::Replica);
        if is_replica || row.is_delete_marker {
            judge.orphan(source_bucket, &row)?;
        } else {
            counts.destination_only += 1;
        }
    }
    Ok(())
}
