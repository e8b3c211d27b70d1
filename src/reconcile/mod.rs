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
pub mod join;
pub mod manifest;
pub mod parquet;

use crate::audit::rules::RuleCoverage;
use crate::audit::rules::{Destination, ReplicationRules};
use crate::audit::verdict::AuditInput;
use crate::audit::{
    decide, Finding, ObjectFacts, ObjectRef, Origin, Probe, ReplicationStatus, Verdict,
    VerdictPolicy,
};
use crate::event::keys::encode_event_key;
use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use join::{Partitions, Progress, Queue, Sink};
use manifest::{parse_row_into, Columns, CsvFields, FileFormat, InventoryError, Manifest, Row};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Uncompressed rows take about this many times their gzip size (inventory rows compress well).
const GZIP_EXPANSION: u64 = 8;
/// Parquet (Snappy) rows decode to about this many times their file size.
const PARQUET_EXPANSION: u64 = 6;
/// Findings kept for the report; the counts and the re-drive manifest are always complete.
pub const MAX_REPORTED_FINDINGS: usize = 1000;

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

    /// Bytes this side's rows take once decoded, roughly (for the memory plan).
    fn estimated_bytes(&self) -> u64 {
        self.manifest.total_size()
            * match self.format {
                FileFormat::Csv => GZIP_EXPANSION,
                FileFormat::Parquet => PARQUET_EXPANSION,
            }
    }

    /// Every row of data file `index`, in file order, into one reused [`Row`]; the first
    /// unreadable row ends it with an error naming the file and line.
    fn for_each_row(
        &self,
        index: usize,
        mut each: impl FnMut(&Row) -> Result<(), ReconcileError>,
    ) -> Result<(), ReconcileError> {
        let path = &self.files[index];
        let name = || path.display().to_string();
        if self.format == FileFormat::Parquet {
            for row in parquet::rows(path)? {
                each(&row?)?;
            }
            return Ok(());
        }
        let file = File::open(path).map_err(|e| InventoryError::File {
            path: name(),
            reason: e.to_string(),
        })?;
        let mut lines = Lines::new(MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            file,
        )));
        let (mut fields, mut row) = (CsvFields::default(), Row::default());
        let mut number = 0;
        while let Some(mut line) = lines.next_line().map_err(|e| InventoryError::File {
            path: name(),
            reason: format!("not a readable gzip CSV file: {e}"),
        })? {
            number += 1;
            while let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.is_empty() {
                continue;
            }
            parse_row_into(line, &self.columns, &mut fields, &mut row).map_err(|reason| {
                InventoryError::Row {
                    path: name(),
                    line: number,
                    reason: match number == 1 && self.is_header(line) {
                        // S3 Inventory CSV files have no header row ("Configuring Amazon S3
                        // Inventory": the columns are in manifest.json's fileSchema).
                        true => format!("the file starts with a header row ({}): S3 Inventory CSV files have none — was it edited or written by another tool? Remove the header, or use the report S3 wrote", String::from_utf8_lossy(line)),
                        false => reason,
                    },
                }
            })?;
            each(&row)?;
        }
        Ok(())
    }

    /// Whether a CSV line names the columns of `fileSchema` (a header row).
    fn is_header(&self, line: &[u8]) -> bool {
        let names = self.manifest.column_names(&self.origin).unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        !names.is_empty()
            && fields.len() == names.len()
            && fields
                .iter()
                .zip(&names)
                .all(|(field, name)| field.eq_ignore_ascii_case(name))
    }

    /// Every row of every data file, read by `workers` threads (a file each at a time) into
    /// `partitions`.
    fn partition(
        &self,
        partitions: &Partitions,
        workers: usize,
        progress: &Progress,
    ) -> Result<(), ReconcileError> {
        let queue = Queue::new(self.files.len());
        join::on_workers(workers, &queue, || {
            let mut writer = partitions.writer();
            while let Some(index) = queue.take() {
                let mut counted = Counted::new(progress);
                self.for_each_row(index, |row| {
                    counted.add();
                    writer.write(row)
                })?;
            }
            writer.flush()
        })?;
        Ok(())
    }

    /// This side's data files, largest first (so that the last ones the workers take are
    /// short, and no worker is left reading one long file alone at the end).
    fn files_largest_first(&self) -> Vec<usize> {
        let mut files: Vec<(u64, usize)> = self
            .files
            .iter()
            .enumerate()
            .map(|(index, path)| (std::fs::metadata(path).map_or(0, |m| m.len()), index))
            .collect();
        files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        files.into_iter().map(|(_, index)| index).collect()
    }
}

/// Every row of both sides into their partitions, by `workers` threads taking data files from
/// one queue (the destination's first, each side's largest first): no core waits for the
/// other to finish one side before both start on the next.
fn partition_both(
    sides: [(&Inventory, &Partitions, &Progress); 2],
    workers: usize,
) -> Result<(), ReconcileError> {
    let files: Vec<(usize, usize)> = sides
        .iter()
        .enumerate()
        .flat_map(|(side, (inventory, _, _))| {
            inventory
                .files_largest_first()
                .into_iter()
                .map(move |file| (side, file))
        })
        .collect();
    let queue = Queue::new(files.len());
    join::on_workers(workers, &queue, || {
        let mut writers = [sides[0].1.writer(), sides[1].1.writer()];
        while let Some(next) = queue.take() {
            let (side, file) = files[next];
            let (inventory, _, progress) = sides[side];
            let writer = &mut writers[side];
            let mut counted = Counted::new(progress);
            inventory.for_each_row(file, |row| {
                counted.add();
                writer.write(row)
            })?;
        }
        let [destination, source] = writers;
        destination.flush()?;
        source.flush()
    })?;
    Ok(())
}

/// Rows counted by one worker, added to the shared [`Progress`] in batches (and the rest when
/// dropped).
struct Counted<'a> {
    progress: &'a Progress,
    pending: u64,
}

impl<'a> Counted<'a> {
    const BATCH: u64 = 4096;

    fn new(progress: &'a Progress) -> Self {
        Self {
            progress,
            pending: 0,
        }
    }

    fn add(&mut self) {
        self.pending += 1;
        if self.pending == Self::BATCH {
            self.progress.add_many(self.pending);
            self.pending = 0;
        }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.progress.add_many(self.pending);
    }
}

/// The lines of a decompressed stream, read in large blocks and handed out where they lie
/// (without the `\n`; the last line may lack one).
struct Lines<R> {
    inner: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Lines<R> {
    const BLOCK: usize = 256 * 1024;

    fn new(inner: R) -> Self {
        Self {
            inner,
            buffer: vec![0; Self::BLOCK],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        let mut searched = 0;
        loop {
            let pending = &self.buffer[self.start + searched..self.end];
            if let Some(at) = memchr::memchr(b'\n', pending) {
                let line = self.start..self.start + searched + at;
                self.start = line.end + 1;
                return Ok(Some(&self.buffer[line]));
            }
            searched = self.end - self.start;
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let line = self.start..self.end;
                self.start = self.end;
                return Ok(Some(&self.buffer[line]));
            }
            // Keep the partial line, make room, read on.
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buffer.len() {
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
            loop {
                match self.inner.read(&mut self.buffer[self.end..]) {
                    Ok(0) => self.eof = true,
                    Ok(read) => self.end += read,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
                break;
            }
        }
    }
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
    /// Threads that read, spill and join (one per core is right: the work is CPU-bound).
    pub workers: usize,
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
    #[error("{0}")]
    Mismatch(String),
    /// The destination did not fit the memory budget after all (the join then spills).
    #[error("the destination inventory exceeds the memory budget")]
    OverBudget,
    #[error("cannot write the re-drive manifest {path}: {source}")]
    Redrive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What every worker judges against (shared, read-only but for the re-drive manifest).
struct Context<'a> {
    settings: &'a Settings,
    rules: &'a Rules,
    source_bucket: String,
    destination: Destination,
    now: DateTime<Utc>,
    /// The re-drive manifest and the lines written to it.
    redrive: Option<Mutex<(BufWriter<File>, u64)>>,
    /// The reports list versions: every re-drive line then names one (`null` for the null
    /// version), as S3 Batch Operations wants a version on all lines or none.
    versioned: bool,
}

/// One worker's verdicts; merged when every worker is done.
#[derive(Default)]
struct Tally {
    /// Per verdict, in the order of [`Verdict::ALL`].
    counts: [u64; Verdict::ALL.len()],
    /// Source rows whose status is REPLICA (all of them: the manifests are swapped).
    source_replicas: u64,
    findings: Vec<Finding>,
    truncated: bool,
    alarming: u64,
    destination_only: u64,
}

impl Context<'_> {
    fn coverage(&self, row: &Row) -> RuleCoverage {
        match self.rules {
            Rules::Read(None) => RuleCoverage::NoConfiguration,
            Rules::Read(Some(rules)) if !rules.needs_tags(&row.key) || row.is_delete_marker => {
                let coverage = rules.coverage(
                    &row.key,
                    row.is_delete_marker.then_some(&[][..]),
                    row.is_delete_marker,
                    // Encryption and storage class are not read from inventories yet: every
                    // covered row counts as eligible.
                    None,
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

    fn object(&self, row: &Row) -> ObjectRef {
        ObjectRef {
            bucket: self.source_bucket.clone(),
            key: row.key.clone(),
            version_id: Some(row.version_id.clone()).filter(|v| !v.is_empty()),
            // A delete marker's age counts from when it was written, as an event's would.
            event_time: row.last_modified,
            origin: Origin::Manual,
            events: Vec::new(),
        }
    }

    /// Judges one source row by the replica the destination inventory has for it.
    fn source(
        &self,
        tally: &mut Tally,
        row: &Row,
        replica: Option<&Row>,
    ) -> Result<(), ReconcileError> {
        let object = self.object(row);
        let source = probe_of(row);
        if is_replica_status(&row.replication_status) {
            tally.source_replicas += 1;
        }
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
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage,
            now: self.now,
        };
        self.record(tally, decide(&input, &self.settings.policy))
    }

    /// A destination row no source row names: a replica (or replicated delete marker) whose
    /// source version is gone; any other row was written to the destination directly.
    fn orphan(&self, tally: &mut Tally, row: &Row) -> Result<(), ReconcileError> {
        let is_replica = is_replica_status(&row.replication_status);
        if !is_replica && !row.is_delete_marker {
            tally.destination_only += 1;
            return Ok(());
        }
        let input = AuditInput {
            object: &self.object(row),
            source: &Probe::NotFound,
            destination: Some(&self.destination),
            replica: None,
            current: None,
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage: RuleCoverage::Unknown,
            now: self.now,
        };
        self.record(tally, decide(&input, &self.settings.policy))
    }

    /// A source row the destination has a row for (same key and version id), judged without
    /// building its [`Finding`]: [`decide`] finds every such row `replicated` and quiet
    /// (row 1 of the table: the version is in the destination; no event, failure, tag
    /// comparison or current-version HEAD comes from an inventory, and coverage is not asked
    /// once the replica is there), so nothing is reported or re-driven. The unit test
    /// `a_matched_row_is_judged_as_decide_judges_it` holds this to [`Self::source`] on every
    /// kind of row.
    fn matched(&self, tally: &mut Tally, source_status: &str) {
        if is_replica_status(source_status) {
            tally.source_replicas += 1;
        }
        tally.counts[verdict_slot(Verdict::Replicated)] += 1;
    }

    fn record(&self, tally: &mut Tally, finding: Finding) -> Result<(), ReconcileError> {
        tally.counts[verdict_slot(finding.verdict)] += 1;
        if needs_redrive(&finding) {
            if let Some(redrive) = &self.redrive {
                let mut line = format!(
                    "{},{}",
                    finding.source_bucket,
                    encode_event_key(&finding.key)
                );
                match finding.version_id.as_deref() {
                    Some(version) => {
                        line.push(',');
                        line.push_str(version);
                    }
                    None if self.versioned => line.push_str(",null"),
                    None => {}
                }
                line.push('\n');
                let mut redrive = redrive.lock().unwrap_or_else(|e| e.into_inner());
                redrive
                    .0
                    .write_all(line.as_bytes())
                    .map_err(|source| ReconcileError::Redrive {
                        path: redrive_path(self.settings),
                        source,
                    })?;
                redrive.1 += 1;
            }
        }
        if finding.alarming {
            tally.alarming += 1;
            if tally.findings.len() < MAX_REPORTED_FINDINGS {
                tally.findings.push(finding);
            } else {
                tally.truncated = true;
            }
        }
        Ok(())
    }
}

impl Tally {
    fn merge(mut self, other: Tally) -> Tally {
        for (count, other) in self.counts.iter_mut().zip(other.counts) {
            *count += other;
        }
        self.findings.extend(other.findings);
        self.truncated |= other.truncated;
        self.alarming += other.alarming;
        self.destination_only += other.destination_only;
        self.source_replicas += other.source_replicas;
        self
    }
}

/// Where `verdict` is counted in [`Tally::counts`].
fn verdict_slot(verdict: Verdict) -> usize {
    Verdict::ALL
        .iter()
        .position(|v| *v == verdict)
        .unwrap_or(Verdict::ALL.len() - 1)
}

/// `ReplicationStatus::parse(status) == ReplicationStatus::Replica`, without its allocation.
fn is_replica_status(status: &str) -> bool {
    status.trim().eq_ignore_ascii_case("REPLICA")
}

/// Removes a file when dropped (if it is still there).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
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
    let version_id = Some(row.version_id.clone()).filter(|v| !v.is_empty());
    if row.is_delete_marker {
        return Probe::DeleteMarker(version_id);
    }
    Probe::Found(ObjectFacts {
        version_id,
        replication_status: Some(row.replication_status.as_str())
            .filter(|s| !s.is_empty())
            .map(ReplicationStatus::parse),
        size: row.size,
        etag: Some(row.etag.clone()).filter(|e| !e.is_empty()),
        last_modified: row.last_modified,
        ..ObjectFacts::default()
    })
}

/// Refuses two reports that cannot be a source and its destination: the same bucket twice,
/// or a "destination" the source's rules never replicate to (swapped manifests). Each
/// manifest's `sourceBucket` says whose report it is.
fn check_pair(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
) -> Result<(), ReconcileError> {
    let (from, to) = (
        &source.manifest.source_bucket,
        &destination.manifest.source_bucket,
    );
    if from == to {
        return Err(ReconcileError::Mismatch(format!(
            "both manifests are reports of bucket {from}: give the source bucket's report as --source-manifest and the destination bucket's as --destination-manifest"
        )));
    }
    if let Rules::Read(Some(rules)) = rules {
        let destinations: Vec<&str> = rules
            .rules
            .iter()
            .map(|r| r.destination_bucket.as_str())
            .collect();
        if !destinations.contains(&to.as_str()) {
            return Err(ReconcileError::Mismatch(format!(
                "{from}'s replication rules never replicate to {to} (they name {}): are the manifests swapped? --source-manifest is the report of the bucket that replicates",
                if destinations.is_empty() { "no destination".to_string() } else { destinations.join(", ") }
            )));
        }
    }
    Ok(())
}

/// Joins the two inventories and judges every version. `rules` are the source bucket's.
pub fn reconcile(
    source: &Inventory,
    destination: &Inventory,
    rules: &Rules,
    settings: &Settings,
) -> Result<Outcome, ReconcileError> {
    let destination_bucket = destination.manifest.source_bucket.clone();
    check_pair(source, destination, rules)?;
    let account = match rules {
        Rules::Read(Some(rules)) => rules.account_of(&destination_bucket),
        _ => None,
    };
    if source.columns.version_id.is_some() != destination.columns.version_id.is_some() {
        return Err(ReconcileError::Mismatch(format!(
            "{} lists object versions and {} does not: reconcile two all-versions reports, or two current-version reports",
            if source.columns.version_id.is_some() { &source.origin } else { &destination.origin },
            if source.columns.version_id.is_some() { &destination.origin } else { &source.origin },
        )));
    }
    // Written beside the target and renamed when complete: a failed run never leaves a
    // manifest that looks whole (the guard removes what is left of it).
    let partial = settings
        .redrive
        .as_ref()
        .map(|path| PathBuf::from(format!("{}.partial", path.display())));
    let _partial_guard = partial.clone().map(RemoveOnDrop);
    let redrive = match &partial {
        Some(path) => {
            let file = File::create(path).map_err(|source| ReconcileError::Redrive {
                path: path.display().to_string(),
                source,
            })?;
            Some(Mutex::new((BufWriter::new(file), 0)))
        }
        None => None,
    };
    let context = Context {
        settings,
        rules,
        source_bucket: source.manifest.source_bucket.clone(),
        destination: Destination::new(destination_bucket.clone(), account),
        // The statuses are what S3 saw when it took the source inventory: ages count to then.
        now: source.manifest.created().unwrap_or_else(Utc::now),
        redrive,
        versioned: source.columns.version_id.is_some(),
    };
    let workers = settings.workers.max(1);
    let budget = settings.memory_budget_bytes.max(1);
    // One partition's index per worker at a time.
    let share = (budget / workers as u64).max(1);
    // One index of the whole destination, or one partition's per worker at a time.
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
    let source_rows = Progress::new("source", settings.progress);
    let destination_rows = Progress::new("destination", settings.progress);

    // The index of the whole destination, if it fits the budget; the estimate comes from the
    // data files' sizes, so loading stops (and the join spills) when the real rows are larger.
    let mut partitions = partitions;
    let loaded = if partitions == 1 {
        let memory = Partitions::in_memory(budget);
        match destination.partition(&memory, workers, &destination_rows) {
            Err(ReconcileError::OverBudget) => {
                destination_rows.reset();
                partitions = (estimate.max(budget) * 4)
                    .div_ceil(share)
                    .clamp(2, join::MAX_FANOUT);
                None
            }
            Err(error) => return Err(error),
            Ok(()) => Some(match memory.finish()?.pop() {
                Some(mut sink) => sink.read()?,
                None => Vec::new(),
            }),
        }
    } else {
        None
    };

    let tally = if let Some(bytes) = loaded {
        let index = join::Index::build(&bytes);
        // Source rows stream past the shared index, a file per worker at a time.
        let queue = Queue::new(source.files.len());
        let tallies = join::on_workers(workers, &queue, || {
            let mut tally = Tally::default();
            while let Some(file) = queue.take() {
                let mut counted = Counted::new(&source_rows);
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
        tally
    } else {
        if settings.progress {
            eprintln!(
                "reconcile: the destination inventory (~{} MB decoded) exceeds the memory budget ({} MB): spilling both sides to {} partitions in {}",
                estimate.max(budget) / 1_000_000,
                budget / 1_000_000,
                partitions,
                settings.spill_dir.display()
            );
        }
        // Each worker's buffers and the files' writers of both sides within half the budget.
        let buffers = budget / (4 * (workers as u64 + 1));
        let destination_files =
            Partitions::files(&settings.spill_dir, "destination", partitions, 0, buffers)?;
        let source_files =
            Partitions::files(&settings.spill_dir, "source", partitions, 0, buffers)?;
        partition_both(
            [
                (destination, &destination_files, &destination_rows),
                (source, &source_files, &source_rows),
            ],
            workers,
        )?;
        let destination_parts = destination_files.finish()?;
        let source_parts = source_files.finish()?;
        let pairs: Vec<Mutex<Option<(Sink, Sink)>>> = destination_parts
            .into_iter()
            .zip(source_parts)
            .map(|pair| Mutex::new(Some(pair)))
            .collect();
        let queue = Queue::new(pairs.len());
        let tallies = join::on_workers(workers, &queue, || {
            let mut tally = Tally::default();
            let mut bytes = Vec::new();
            while let Some(index) = queue.take() {
                let pair = pairs[index]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let Some((destination, source)) = pair {
                    let name = format!("p{index}");
                    join_within(
                        &context,
                        &mut tally,
                        (destination, source),
                        share,
                        &name,
                        1,
                        &mut bytes,
                    )?;
                }
            }
            Ok(tally)
        })?;
        tallies.into_iter().fold(Tally::default(), Tally::merge)
    };

    // An empty source report would make every destination row "deleted from the source".
    if source_rows.get() == 0 && destination_rows.get() > 0 {
        return Err(ReconcileError::Mismatch(format!(
            "the source inventory ({}) lists no object, the destination's ({}) lists {}: wrong manifest, or a report of an empty or new bucket? Nothing was judged",
            source.origin,
            destination.origin,
            destination_rows.get()
        )));
    }
    // Swapped manifests, told by the rows: a "source" without replication rules whose every
    // version is a replica is the destination (a two-way bucket has rules of its own).
    let replicas = tally.source_replicas;
    if !matches!(rules, Rules::Read(Some(_))) && replicas > 0 && replicas == source_rows.get() {
        return Err(ReconcileError::Mismatch(format!(
            "every version in the source inventory ({}) is a replica and {} has no replication configuration the auditor can read: the manifests look swapped — --source-manifest is the report of the bucket that replicates",
            source.origin, context.source_bucket
        )));
    }
    let redrive = match context.redrive {
        Some(redrive) => {
            let (mut writer, objects) = redrive.into_inner().unwrap_or_else(|e| e.into_inner());
            let error = |source| ReconcileError::Redrive {
                path: redrive_path(settings),
                source,
            };
            writer.flush().map_err(error)?;
            if let (Some(partial), Some(path)) = (&partial, &settings.redrive) {
                std::fs::rename(partial, path).map_err(error)?;
            }
            Some(Redrive {
                path: redrive_path(settings),
                objects,
            })
        }
        None => None,
    };
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
    let all_counts: BTreeMap<&'static str, u64> = Verdict::ALL
        .iter()
        .zip(counts)
        .map(|(v, n)| (v.as_str(), n))
        .collect();
    Ok(Outcome {
        source_bucket: context.source_bucket,
        destination_bucket,
        counts: all_counts,
        rows: RowCounts {
            source: source_rows.get(),
            destination: destination_rows.get(),
            destination_only,
        },
        findings_truncated: truncated || alarming > findings.len() as u64,
        findings,
        alarming,
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
    use flate2::write::GzEncoder;

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
                    let context = Context {
                        settings: &settings,
                        rules,
                        source_bucket: "src".into(),
                        destination: Destination::new("dst", None),
                        now,
                        redrive: Some(Mutex::new((BufWriter::new(redrive), 0))),
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
                    let lines = context.redrive.unwrap().into_inner().unwrap().1;
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
