//! One side's S3 Inventory report as rows: its data files (CSV, gzip; or Parquet) read file
//! by file, each row parsed in place, and the estimate of its decoded size.

use super::error::ReconcileError;
use super::join::{Partitions, Progress, Queue};
use super::manifest::{
    parse_row_into, Columns, CsvFields, FileFormat, InventoryError, Manifest, Row,
};
use super::{join, parquet};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::BufReader;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Uncompressed rows take about this many times their gzip size (inventory rows compress well).
pub(super) const GZIP_EXPANSION: u64 = 8;
/// Parquet (Snappy) rows decode to about this many times their file size.
pub(super) const PARQUET_EXPANSION: u64 = 6;

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
    pub(super) fn estimated_bytes(&self) -> u64 {
        self.manifest.total_size()
            * match self.format {
                FileFormat::Csv => GZIP_EXPANSION,
                FileFormat::Parquet => PARQUET_EXPANSION,
            }
    }

    /// Every row of data file `index`, in file order, into one reused [`Row`]; the first
    /// unreadable row ends it with an error naming the file and line.
    pub(super) fn for_each_row(
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
    pub(super) fn partition(
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
pub(super) fn partition_both(
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
pub(super) struct Counted<'a> {
    progress: &'a Progress,
    pending: u64,
}

impl<'a> Counted<'a> {
    const BATCH: u64 = 4096;

    pub(super) fn new(progress: &'a Progress) -> Self {
        Self {
            progress,
            pending: 0,
        }
    }

    pub(super) fn add(&mut self) {
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
pub(super) struct Lines<R> {
    inner: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Lines<R> {
    const BLOCK: usize = 256 * 1024;

    pub(super) fn new(inner: R) -> Self {
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
