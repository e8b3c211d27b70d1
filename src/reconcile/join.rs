//! The join behind `reconcile`: source and destination rows matched by (key, version id) in
//! bounded memory, on every core.
//!
//! 1. **Partition.** Worker threads (one per core) take data files from a queue, decode them
//!    and append each row, in a compact binary form ([`encode`]), to one of P partitions chosen
//!    by a hash of (key, version id). With P = 1 the destination's rows stay in memory and the
//!    source's are never stored; otherwise both sides go to files in the spill directory.
//! 2. **Join.** Each worker takes a partition: its destination rows are indexed in memory
//!    ([`Index`]), its source rows stream past the index and are judged, and destination rows
//!    no source row matched are judged as orphans. A destination partition larger than a
//!    worker's share of the memory budget is split again with another hash seed until it fits,
//!    so memory stays bounded whatever the inventories' size.

use super::error::ReconcileError;
use super::manifest::Row;
use chrono::DateTime;
use hashbrown::hash_table::{Entry, HashTable};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bytes a worker collects for one partition before appending them to the shared sink.
const LOCAL_BUFFER: usize = 64 * 1024;
/// Index memory per destination row beyond its encoded bytes: a hash map entry of 40 bytes
/// (two slices and a position) and its control byte at up to 1/2 load after growth, the
/// record's slice in the list (16) and its matched flag.
pub const INDEX_BYTES_PER_ROW: u64 = 112;
/// Partitions one split makes at most (each is a file open while splitting).
pub const MAX_FANOUT: u64 = 256;
/// Decoded bytes (as estimated from the data files' sizes) a spilled destination partition is
/// planned for at most: ~12 MB once spilled, so that the partitions the workers index at once
/// mostly stay in a 32 MB last-level cache (the probes are random reads; measured in
/// docs/reconcile-performance.md).
pub const CACHED_PARTITION_ESTIMATE: u64 = 48_000_000;
/// Bytes of a spill file read at a time.
const SPILL_READ_BUFFER: usize = 1 << 20;

fn spill_error(path: &Path) -> impl Fn(std::io::Error) -> ReconcileError + '_ {
    move |source| ReconcileError::Spill {
        path: path.display().to_string(),
        source,
    }
}

/// The seeds of [`identity_hash`] (fixed: a spilled record carries its hash).
const IDENTITY_SEEDS: ahash::RandomState =
    ahash::RandomState::with_seeds(0x5eed, 0x1ce, 0xb0b, 0x0ca7);

/// The hash of (key, version id) that every encoded record carries: it picks the record's
/// partition (with each split's seed) and its place in a partition's index, so each row is
/// hashed once, when it is read.
pub fn identity_hash(key: &[u8], version_id: &[u8]) -> u64 {
    let mut hasher = IDENTITY_SEEDS.build_hasher();
    hasher.write_usize(key.len());
    hasher.write(key);
    hasher.write(version_id);
    hasher.finish()
}

/// The partition of a record whose identity hashes to `hash`, under `seed`, out of
/// `partitions`: a different mix of the hash per seed, so a split spreads what one partition
/// held.
fn partition_of(hash: u64, seed: u64, partitions: u64) -> usize {
    // splitmix64's finaliser of the hash and the seed.
    let mut value = hash ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^= value >> 31;
    (value % partitions) as usize
}

/// Bytes before the key in a record: the identity hash.
const HASH_BYTES: usize = 8;
/// In place of a string's `u16` length (strings are at most 1,024 bytes, [`Row::check`]): an
/// ETag of 32 lowercase hex digits follows as its 16 bytes.
const PACKED_ETAG: u16 = 0xFFFF;
/// In place of a string's length: replication status `STATUSES[length - STATUS_CODE]`,
/// spelled exactly so, follows as nothing (spill files are a tenth smaller with both).
const STATUS_CODE: u16 = 0xFF00;
const STATUSES: [&str; 4] = ["COMPLETED", "PENDING", "FAILED", "REPLICA"];

/// Appends `row` to `out`: `u32` length, then the identity hash (`u64`), key, version id,
/// flags, size, last-modified (ms), ETag and replication status; strings as `u16` length +
/// UTF-8.
pub fn encode(row: &Row, hash: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&hash.to_le_bytes());
    let text = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    text(out, &row.key);
    text(out, &row.version_id);
    let flags = match row.is_latest {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    } | (row.is_delete_marker as u8) << 2
        | (row.size.is_some() as u8) << 3
        | (row.last_modified.is_some() as u8) << 4;
    out.push(flags);
    if let Some(size) = row.size {
        out.extend_from_slice(&size.to_le_bytes());
    }
    if let Some(time) = row.last_modified {
        out.extend_from_slice(&time.timestamp_millis().to_le_bytes());
    }
    let etag = row.etag.as_bytes();
    if etag.len() == 32 && etag.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        out.extend_from_slice(&PACKED_ETAG.to_le_bytes());
        let nibble = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
        out.extend(
            etag.chunks_exact(2)
                .map(|pair| nibble(pair[0]) << 4 | nibble(pair[1])),
        );
    } else {
        text(out, &row.etag);
    }
    match STATUSES.iter().position(|s| *s == row.replication_status) {
        Some(code) => out.extend_from_slice(&(STATUS_CODE + code as u16).to_le_bytes()),
        None => text(out, &row.replication_status),
    }
    let length = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
}

/// The identity hash an encoded record carries.
fn hash_of(record: &[u8]) -> u64 {
    u64::from_le_bytes(record[..HASH_BYTES].try_into().unwrap_or([0; 8]))
}

/// Reads one encoded record (without its length prefix) into `row`.
fn decode(record: &[u8], row: &mut Row) {
    let (key, version_id, _) = fields(record);
    row.key.clear();
    row.key
        .push_str(std::str::from_utf8(key).unwrap_or_default());
    row.version_id.clear();
    row.version_id
        .push_str(std::str::from_utf8(version_id).unwrap_or_default());
    decode_facts(record, row);
}

/// Reads everything but the key and version id of one encoded record into `row`.
fn decode_facts(record: &[u8], row: &mut Row) {
    let (_, _, mut at) = fields(record);
    let flags = record[at];
    at += 1;
    let mut number = || {
        let value = i64::from_le_bytes(record[at..at + 8].try_into().unwrap_or([0; 8]));
        at += 8;
        value
    };
    row.is_latest = match flags & 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    };
    row.is_delete_marker = flags & 4 != 0;
    row.size = (flags & 8 != 0).then(&mut number);
    row.last_modified = (flags & 16 != 0)
        .then(&mut number)
        .and_then(DateTime::from_timestamp_millis);
    row.etag.clear();
    if u16::from_le_bytes([record[at], record[at + 1]]) == PACKED_ETAG {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &byte in &record[at + 2..at + 18] {
            row.etag.push(HEX[(byte >> 4) as usize] as char);
            row.etag.push(HEX[(byte & 15) as usize] as char);
        }
        at += 18;
    } else {
        let (etag, next) = text_at(record, at);
        row.etag.push_str(etag);
        at = next;
    }
    row.replication_status.clear();
    row.replication_status.push_str(text_at(record, at).0);
}

/// The string at `at` (a `u16` length, or a status code), and where the next field starts.
fn text_at(record: &[u8], at: usize) -> (&str, usize) {
    let length = u16::from_le_bytes([record[at], record[at + 1]]);
    if length >= STATUS_CODE && length != PACKED_ETAG {
        let status = STATUSES
            .get((length - STATUS_CODE) as usize)
            .copied()
            .unwrap_or_default();
        return (status, at + 2);
    }
    let end = at + 2 + length as usize;
    (
        std::str::from_utf8(&record[at + 2..end]).unwrap_or_default(),
        end,
    )
}

/// Key and version id of one encoded record as bytes, and where its flags start.
fn fields(record: &[u8]) -> (&[u8], &[u8], usize) {
    let field = |at: usize| {
        let length = u16::from_le_bytes([record[at], record[at + 1]]) as usize;
        (&record[at + 2..at + 2 + length], at + 2 + length)
    };
    let (key, next) = field(HASH_BYTES);
    let (version_id, next) = field(next);
    (key, version_id, next)
}

/// The replication status of one encoded record, as the inventory wrote it.
fn status_of(record: &[u8]) -> &str {
    let (_, _, mut at) = fields(record);
    let flags = record[at];
    at += 1 + 8 * ((flags >> 3) & 1) as usize + 8 * ((flags >> 4) & 1) as usize;
    at += match u16::from_le_bytes([record[at], record[at + 1]]) {
        PACKED_ETAG => 18,
        length => 2 + length as usize,
    };
    text_at(record, at).0
}

/// Key and version id of one encoded record, borrowed as bytes (no UTF-8 check: the index
/// only compares them).
fn identity(record: &[u8]) -> (&[u8], &[u8]) {
    let (key, version_id, _) = fields(record);
    (key, version_id)
}

/// Records of a buffer of length-prefixed encodings.
fn records(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let length = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let record = bytes.get(at + 4..at + 4 + length)?;
        at += 4 + length;
        Some(record)
    })
}

/// Streams the records of a spill file through one reused buffer (records are handed out
/// where they lie in it, never copied one by one).
fn for_each_spilled(
    path: &Path,
    mut each: impl FnMut(&[u8]) -> Result<(), ReconcileError>,
) -> Result<(), ReconcileError> {
    let error = spill_error(path);
    let mut file = File::open(path).map_err(&error)?;
    let mut buffer = vec![0u8; SPILL_READ_BUFFER];
    let (mut start, mut end) = (0, 0);
    loop {
        // Every whole record in the buffer.
        let mut needed = 4;
        while end - start >= 4 {
            let length =
                u32::from_le_bytes(buffer[start..start + 4].try_into().unwrap_or([0; 4])) as usize;
            if end - start - 4 < length {
                needed = 4 + length;
                break;
            }
            each(&buffer[start + 4..start + 4 + length])?;
            start += 4 + length;
        }
        buffer.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if needed > buffer.len() {
            buffer.resize(needed, 0);
        }
        let read = file.read(&mut buffer[end..]).map_err(&error)?;
        if read == 0 {
            return match end {
                0 => Ok(()),
                _ => Err(error(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the spill file ends inside a record",
                ))),
            };
        }
        end += read;
    }
}

/// One partition being written.
enum Open {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// One partition being written, and what is in it so far.
struct Target {
    open: Open,
    path: PathBuf,
    bytes: u64,
    rows: u64,
}

/// One written partition, ready to read: in memory, or a closed spill file (removed when the
/// partition is read or dropped, so a failed run leaves nothing behind).
pub enum Sink {
    Memory {
        bytes: Vec<u8>,
        rows: u64,
    },
    File {
        path: PathBuf,
        bytes: u64,
        rows: u64,
    },
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Sink::File { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One side's partitions.
pub struct Partitions {
    targets: Vec<Mutex<Target>>,
    seed: u64,
    /// For an in-memory partition: the index memory it may grow to.
    limit: u64,
    /// Bytes a worker collects per partition before appending them.
    buffer: usize,
}

impl Partitions {
    /// One partition in memory whose index may take `limit` bytes.
    pub fn in_memory(limit: u64) -> Self {
        Self {
            targets: vec![Mutex::new(Target {
                open: Open::Memory(Vec::new()),
                path: PathBuf::new(),
                bytes: 0,
                rows: 0,
            })],
            seed: 0,
            limit,
            buffer: LOCAL_BUFFER,
        }
    }

    /// `count` spill files; each worker's buffers and each file's writer are kept small enough
    /// that `count` of them fit in `buffer_budget` bytes.
    pub fn files(
        dir: &Path,
        name: &str,
        count: u64,
        seed: u64,
        buffer_budget: u64,
    ) -> Result<Self, ReconcileError> {
        let buffer = (buffer_budget / count.max(1)).clamp(4096, LOCAL_BUFFER as u64) as usize;
        let mut targets = Vec::with_capacity(count as usize);
        for index in 0..count {
            let path = dir.join(format!("{name}-{index}.bin"));
            let file = File::create(&path).map_err(spill_error(&path))?;
            targets.push(Mutex::new(Target {
                open: Open::File(BufWriter::with_capacity(buffer, file)),
                path,
                bytes: 0,
                rows: 0,
            }));
        }
        Ok(Self {
            targets,
            seed,
            limit: u64::MAX,
            buffer,
        })
    }

    pub fn count(&self) -> u64 {
        self.targets.len() as u64
    }

    /// A worker's way in: rows are collected locally and appended in blocks.
    pub fn writer(&self) -> PartitionWriter<'_> {
        PartitionWriter {
            partitions: self,
            buffers: vec![(Vec::new(), 0); self.targets.len()],
        }
    }

    /// Flushes and closes every file; the partitions, ready to read.
    pub fn finish(self) -> Result<Vec<Sink>, ReconcileError> {
        let mut sinks = Vec::with_capacity(self.targets.len());
        for target in self.targets {
            let target = target.into_inner().unwrap_or_else(|e| e.into_inner());
            sinks.push(match target.open {
                Open::Memory(bytes) => Sink::Memory {
                    bytes,
                    rows: target.rows,
                },
                Open::File(writer) => {
                    // Closed here: a run holds no more descriptors than partitions being written.
                    writer
                        .into_inner()
                        .map_err(|e| spill_error(&target.path)(e.into_error()))?;
                    Sink::File {
                        path: target.path,
                        bytes: target.bytes,
                        rows: target.rows,
                    }
                }
            });
        }
        Ok(sinks)
    }
}

pub struct PartitionWriter<'a> {
    partitions: &'a Partitions,
    /// Per partition: encoded rows not yet appended, and how many.
    buffers: Vec<(Vec<u8>, u64)>,
}

impl PartitionWriter<'_> {
    pub fn write(&mut self, row: &Row) -> Result<(), ReconcileError> {
        let hash = identity_hash(row.key.as_bytes(), row.version_id.as_bytes());
        let index = self.index_of(hash);
        let (buffer, rows) = &mut self.buffers[index];
        encode(row, hash, buffer);
        *rows += 1;
        if buffer.len() >= self.partitions.buffer {
            self.flush_one(index)?;
        }
        Ok(())
    }

    /// Appends one encoded record as it is (a split moves records without decoding them).
    fn write_record(&mut self, record: &[u8]) -> Result<(), ReconcileError> {
        let index = self.index_of(hash_of(record));
        let (buffer, rows) = &mut self.buffers[index];
        buffer.extend_from_slice(&(record.len() as u32).to_le_bytes());
        buffer.extend_from_slice(record);
        *rows += 1;
        if buffer.len() >= self.partitions.buffer {
            self.flush_one(index)?;
        }
        Ok(())
    }

    fn index_of(&self, hash: u64) -> usize {
        match self.partitions.count() {
            1 => 0,
            count => partition_of(hash, self.partitions.seed, count),
        }
    }

    fn flush_one(&mut self, index: usize) -> Result<(), ReconcileError> {
        let (buffer, rows) = &mut self.buffers[index];
        if buffer.is_empty() {
            return Ok(());
        }
        let mut target = self.partitions.targets[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let target = &mut *target;
        match &mut target.open {
            Open::Memory(bytes) => {
                let needed = index_bytes(
                    bytes.capacity().max(bytes.len() + buffer.len()) as u64,
                    target.rows + *rows,
                );
                if needed > self.partitions.limit {
                    return Err(ReconcileError::OverBudget);
                }
                bytes.extend_from_slice(buffer);
            }
            Open::File(writer) => writer
                .write_all(buffer)
                .map_err(spill_error(&target.path))?,
        }
        target.bytes += buffer.len() as u64;
        target.rows += *rows;
        buffer.clear();
        *rows = 0;
        Ok(())
    }

    pub fn flush(mut self) -> Result<(), ReconcileError> {
        for index in 0..self.buffers.len() {
            self.flush_one(index)?;
        }
        Ok(())
    }
}

/// Memory an index of `rows` packed into `bytes` takes: the bytes themselves, then per row a
/// hash map entry (two slices and a position, at hashbrown's load factor), its place in the
/// record list and its matched flag.
fn index_bytes(bytes: u64, rows: u64) -> u64 {
    bytes + rows * INDEX_BYTES_PER_ROW
}

impl Sink {
    /// Memory an index of this partition's rows takes.
    pub fn index_bytes(&self) -> u64 {
        match self {
            Sink::Memory { bytes, rows } => index_bytes(bytes.len() as u64, *rows),
            Sink::File { bytes, rows, .. } => index_bytes(*bytes, *rows),
        }
    }

    pub fn read(&mut self) -> Result<Vec<u8>, ReconcileError> {
        let mut bytes = Vec::new();
        self.read_into(&mut bytes)?;
        Ok(bytes)
    }

    /// This partition's bytes into `into`, whose memory is reused (a worker joins partition
    /// after partition: a fresh buffer each time is fresh pages for the kernel to fault in).
    pub fn read_into(&mut self, into: &mut Vec<u8>) -> Result<(), ReconcileError> {
        into.clear();
        match self {
            Sink::Memory { bytes, .. } => std::mem::swap(bytes, into),
            Sink::File { path, bytes, .. } => {
                into.reserve(*bytes as usize);
                File::open(&*path)
                    .and_then(|mut file| file.read_to_end(into))
                    .map_err(spill_error(path))?;
            }
        }
        Ok(())
    }

    /// Streams this partition's records (a spilled source partition is never held whole).
    fn for_each(
        &self,
        mut each: impl FnMut(&[u8]) -> Result<(), ReconcileError>,
    ) -> Result<(), ReconcileError> {
        match self {
            Sink::Memory { bytes, .. } => records(bytes).try_for_each(each),
            Sink::File { path, .. } => for_each_spilled(path, &mut each),
        }
    }
}

/// The destination rows of one partition, indexed by (key, version id).
pub struct Index<'a> {
    /// Positions in `records`, by each record's identity hash.
    table: HashTable<usize>,
    records: Vec<&'a [u8]>,
    matched: Vec<AtomicBool>,
}

impl<'a> Index<'a> {
    pub fn build(bytes: &'a [u8]) -> Self {
        let records: Vec<&[u8]> = records(bytes).collect();
        let mut table = HashTable::with_capacity(records.len());
        for (position, record) in records.iter().enumerate() {
            let identity = identity(record);
            let entry = table.entry(
                hash_of(record),
                |&at: &usize| self::identity(records[at]) == identity,
                |&at: &usize| hash_of(records[at]),
            );
            // A (key, version id) listed twice: the later row is the one matched.
            match entry {
                Entry::Occupied(mut entry) => *entry.get_mut() = position,
                Entry::Vacant(entry) => {
                    entry.insert(position);
                }
            }
        }
        let matched = (0..records.len()).map(|_| AtomicBool::new(false)).collect();
        Self {
            table,
            records,
            matched,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether a destination row has this identity (`hash` is its [`identity_hash`]); marks it
    /// matched.
    pub fn take(&self, hash: u64, key: &[u8], version_id: &[u8]) -> bool {
        let found = self
            .table
            .find(hash, |&at| identity(self.records[at]) == (key, version_id));
        match found {
            Some(&at) => {
                self.matched[at].store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// [`Self::take`] for a decoded row.
    pub fn take_row(&self, row: &Row) -> bool {
        let (key, version_id) = (row.key.as_bytes(), row.version_id.as_bytes());
        self.take(identity_hash(key, version_id), key, version_id)
    }

    /// Every destination row no source row matched.
    pub fn for_each_unmatched(
        &self,
        mut each: impl FnMut(&Row) -> Result<(), ReconcileError>,
    ) -> Result<(), ReconcileError> {
        let mut row = Row::default();
        for (record, matched) in self.records.iter().zip(&self.matched) {
            if !matched.load(Ordering::Relaxed) {
                decode(record, &mut row);
                each(&row)?;
            }
        }
        Ok(())
    }
}

/// Work shared by the worker threads: an index into a list, taken one at a time.
pub struct Queue {
    next: AtomicUsize,
    len: usize,
    failed: AtomicBool,
}

impl Queue {
    pub fn new(len: usize) -> Self {
        Self {
            next: AtomicUsize::new(0),
            len,
            failed: AtomicBool::new(false),
        }
    }

    /// The next item, unless the list is done or a worker failed.
    pub fn take(&self) -> Option<usize> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < self.len).then_some(index)
    }

    pub fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }
}

/// Runs `work` on `workers` threads; each returns its own result, the first error wins.
pub fn on_workers<T: Send>(
    workers: usize,
    queue: &Queue,
    work: impl Fn() -> Result<T, ReconcileError> + Sync,
) -> Result<Vec<T>, ReconcileError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let result = work();
                    if result.is_err() {
                        queue.fail();
                    }
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Re-splits a partition pair whose destination side is too large for `memory`, with another
/// seed; the sub-partitions, ready to join.
pub fn split(
    dir: &Path,
    name: &str,
    destination: Sink,
    source: Sink,
    fanout: u64,
    seed: u64,
    memory: u64,
) -> Result<Vec<(Sink, Sink)>, ReconcileError> {
    let mut sides = Vec::new();
    for (side, sink) in [("destination", destination), ("source", source)] {
        // One side at a time: its writers' and this thread's buffers within half of `memory`.
        let partitions =
            Partitions::files(dir, &format!("{name}-{side}"), fanout, seed, memory / 4)?;
        let mut writer = partitions.writer();
        sink.for_each(|record| writer.write_record(record))?;
        writer.flush()?;
        sides.push(partitions.finish()?);
    }
    let source = sides.pop().unwrap_or_default();
    let destination = sides.pop().unwrap_or_default();
    Ok(destination.into_iter().zip(source).collect())
}

/// A joined row.
pub enum Joined<'a> {
    /// A source row the destination has a row for (same key and version id): only its
    /// replication status is read (the verdict of a matched row needs nothing else, see
    /// `Context::matched`).
    Matched { source_status: &'a str },
    /// A source row with no destination row.
    Unmatched(&'a Row),
    /// A destination row no source row matched.
    Orphan(&'a Row),
}

/// Joins one partition pair, handing every row to `each`.
/// `bytes` holds the destination side while it is indexed (reused from partition to partition).
pub fn join_partition(
    mut destination: Sink,
    source: Sink,
    bytes: &mut Vec<u8>,
    each: &mut impl FnMut(Joined<'_>) -> Result<(), ReconcileError>,
) -> Result<u64, ReconcileError> {
    destination.read_into(bytes)?;
    let index = Index::build(bytes);
    let mut row = Row::default();
    let mut rows = 0;
    source.for_each(|record| {
        rows += 1;
        let (key, version_id) = identity(record);
        if index.take(hash_of(record), key, version_id) {
            each(Joined::Matched {
                source_status: status_of(record),
            })
        } else {
            decode(record, &mut row);
            each(Joined::Unmatched(&row))
        }
    })?;
    index.for_each_unmatched(|row| each(Joined::Orphan(row)))?;
    Ok(rows)
}

/// Rows counted across workers, with a progress line on stderr every million.
pub struct Progress {
    pub rows: AtomicU64,
    what: &'static str,
    print: bool,
}

impl Progress {
    pub fn new(what: &'static str, print: bool) -> Self {
        Self {
            rows: AtomicU64::new(0),
            what,
            print,
        }
    }

    pub fn add(&self) {
        self.add_many(1);
    }

    /// `rows` more (workers count locally and add in batches: one shared counter bumped per
    /// row by every core costs more than reading the row).
    pub fn add_many(&self, rows: u64) {
        if rows == 0 {
            return;
        }
        let before = self.rows.fetch_add(rows, Ordering::Relaxed);
        let seen = before + rows;
        if self.print && seen / 1_000_000 > before / 1_000_000 {
            eprintln!(
                "reconcile: {} {} rows read",
                seen / 1_000_000 * 1_000_000,
                self.what
            );
        }
    }

    pub fn get(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Counting starts again (the side is read again).
    pub fn reset(&self) {
        self.rows.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_encoding_with_every_field_present_or_absent() {
        let full = Row {
            key: "Screen Shot 1+1 ☕.png".into(),
            version_id: "v1".into(),
            is_latest: Some(true),
            is_delete_marker: false,
            size: Some(42),
            last_modified: DateTime::from_timestamp_millis(1_764_000_000_123),
            etag: "e".into(),
            replication_status: "COMPLETED".into(),
        };
        let marker = Row {
            key: "k".into(),
            is_latest: Some(false),
            is_delete_marker: true,
            ..Row::default()
        };
        // Packed forms: a hex ETag and a status S3 spells; near misses stay text.
        let packed = Row {
            etag: "0123456789abcdef0123456789abcdef".into(),
            replication_status: "REPLICA".into(),
            ..full.clone()
        };
        let near = Row {
            etag: "0123456789ABCDEF0123456789abcdef".into(),
            replication_status: "replica".into(),
            ..full.clone()
        };
        let multipart = Row {
            etag: "0123456789abcdef0123456789abcde-2".into(),
            replication_status: "PENDING".into(),
            ..marker.clone()
        };
        let mut bytes = Vec::new();
        encode(&full, 7, &mut bytes);
        encode(&marker, 8, &mut bytes);
        encode(&packed, 9, &mut bytes);
        encode(&near, 10, &mut bytes);
        encode(&multipart, 11, &mut bytes);
        let mut decoded = Vec::new();
        for record in records(&bytes) {
            let mut row = Row::default();
            decode(record, &mut row);
            assert_eq!(
                identity(record),
                (row.key.as_bytes(), row.version_id.as_bytes())
            );
            assert_eq!(status_of(record), row.replication_status);
            decoded.push(row);
        }
        assert_eq!(decoded, [full, marker, packed, near, multipart]);
        assert_eq!(
            records(&bytes).map(hash_of).collect::<Vec<_>>(),
            [7, 8, 9, 10, 11]
        );
    }

    #[test]
    fn a_split_keeps_each_key_on_one_side_of_every_pair() {
        let dir = std::env::temp_dir().join(format!("join-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows: Vec<Row> = (0..500)
            .map(|i| Row {
                key: format!("key {i}"),
                version_id: format!("v{}", i % 3),
                ..Row::default()
            })
            .collect();
        let side = |rows: &[Row]| {
            let partitions = Partitions::in_memory(u64::MAX);
            let mut writer = partitions.writer();
            rows.iter().try_for_each(|row| writer.write(row)).unwrap();
            writer.flush().unwrap();
            partitions.finish().unwrap().pop().unwrap()
        };
        // The destination lacks every tenth row; the source has them all.
        let destination: Vec<Row> = rows
            .iter()
            .step_by(1)
            .filter(|r| !r.key.ends_with('0'))
            .cloned()
            .collect();
        let pairs = split(&dir, "t", side(&destination), side(&rows), 7, 99, 1 << 20).unwrap();
        assert_eq!(pairs.len(), 7);
        let (mut matched, mut unmatched, mut orphans) = (0, 0, 0);
        for (destination, source) in pairs {
            join_partition(destination, source, &mut Vec::new(), &mut |joined| {
                match joined {
                    Joined::Matched { .. } => matched += 1,
                    Joined::Unmatched(_) => unmatched += 1,
                    Joined::Orphan(_) => orphans += 1,
                }
                Ok(())
            })
            .unwrap();
        }
        assert_eq!((matched, unmatched, orphans), (450, 50, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
