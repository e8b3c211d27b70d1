//! S3 Inventory reports as S3 writes them (S3 user guide, "S3 Inventory": "Inventory list",
//! "Inventory manifest"): `manifest.json` and its CSV (gzip, no header, quoted fields, keys
//! URL-encoded with `+` for a space) data files; Parquet data files are read in
//! [`super::parquet`]. Columns are found by the manifest's `fileSchema` (a comma-separated list
//! for CSV, the Parquet message type for Parquet), never by position: optional fields may be
//! absent, and S3 adds fields over time.

use crate::event::keys;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InventoryError {
    #[error("{path}: not an S3 Inventory manifest.json: {reason}")]
    Manifest { path: String, reason: String },
    #[error("{path}: fileFormat {format:?} is not supported (CSV or Parquet; ORC reports can be re-configured as Parquet)")]
    Format { path: String, format: String },
    #[error(
        "{path}: fileSchema has no Key column ({schema:?}); every S3 Inventory report has one"
    )]
    NoKey { path: String, schema: String },
    #[error("{path} line {line}: {reason}")]
    Row {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// What `manifest.json` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub source_bucket: String,
    /// The report bucket, as an ARN.
    #[serde(default)]
    pub destination_bucket: Option<String>,
    /// Epoch milliseconds, as a string.
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    pub file_format: String,
    pub file_schema: String,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestFile {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(rename = "MD5checksum", default)]
    pub md5: Option<String>,
}

/// The data file formats `reconcile` reads (S3 also writes ORC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl Manifest {
    pub fn parse(path: &str, text: &str) -> Result<Self, InventoryError> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| InventoryError::Manifest {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        manifest.format(path)?;
        // Ages count to when S3 took the report: without a time, every age would be a guess.
        if manifest.created().is_none() {
            return Err(InventoryError::Manifest {
                path: path.to_string(),
                reason: format!(
                    "creationTimestamp {:?} is not a time (S3 writes epoch milliseconds, e.g. \"1733270400000\")",
                    manifest.creation_timestamp.as_deref().unwrap_or("(absent)")
                ),
            });
        }
        Ok(manifest)
    }

    /// `fileFormat`, which S3 spells `CSV`, `ORC` or `Parquet`.
    pub fn format(&self, path: &str) -> Result<FileFormat, InventoryError> {
        match self.file_format.to_ascii_lowercase().as_str() {
            "csv" => Ok(FileFormat::Csv),
            "parquet" => Ok(FileFormat::Parquet),
            _ => Err(InventoryError::Format {
                path: path.to_string(),
                format: self.file_format.clone(),
            }),
        }
    }

    /// The column names `fileSchema` lists, in order.
    pub fn column_names(&self, path: &str) -> Result<Vec<String>, InventoryError> {
        match self.format(path)? {
            FileFormat::Csv => Ok(self
                .file_schema
                .split(',')
                .map(|n| n.trim().to_string())
                .collect()),
            FileFormat::Parquet => {
                parquet_message_fields(&self.file_schema).ok_or_else(|| InventoryError::Manifest {
                    path: path.to_string(),
                    reason: format!(
                        "fileSchema is not a Parquet message type: {:?}",
                        self.file_schema
                    ),
                })
            }
        }
    }

    /// When S3 took the inventory: the moment the statuses in it were true.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        let millis: i64 = self.creation_timestamp.as_deref()?.parse().ok()?;
        DateTime::from_timestamp_millis(millis)
    }

    /// The report bucket's name (`destinationBucket` is an ARN).
    pub fn report_bucket(&self) -> Option<String> {
        self.destination_bucket
            .as_deref()
            .map(crate::audit::rules::bucket_name_from_arn)
    }

    /// Compressed bytes of every data file the manifest lists.
    pub fn total_size(&self) -> u64 {
        self.files.iter().filter_map(|f| f.size).sum()
    }
}

/// Where each column of interest is in a row, from `fileSchema`.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub key: usize,
    pub version_id: Option<usize>,
    pub is_latest: Option<usize>,
    pub is_delete_marker: Option<usize>,
    pub size: Option<usize>,
    pub last_modified: Option<usize>,
    pub etag: Option<usize>,
    pub replication_status: Option<usize>,
    pub count: usize,
}

/// The field names of a Parquet message type as S3 writes it in `fileSchema`:
/// `message s3.inventory { required binary bucket (UTF8); optional boolean is_latest; … }`.
fn parquet_message_fields(message: &str) -> Option<Vec<String>> {
    let body = message.trim().strip_prefix("message")?;
    let (_, fields) = body.split_once('{')?;
    let fields = fields.trim_end().strip_suffix('}')?;
    fields
        .split(';')
        .map(str::trim)
        .filter(|field| !field.is_empty())
        // `<repetition> <type> <name> [(<annotation>)]`
        .map(|field| field.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

impl Columns {
    /// Columns by name; CSV's `ReplicationStatus` and Parquet's `replication_status` alike.
    pub fn from_names(path: &str, names: &[String]) -> Result<Self, InventoryError> {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_ascii_lowercase().replace('_', ""))
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let Some(key) = find("key") else {
            return Err(InventoryError::NoKey {
                path: path.to_string(),
                schema: names.join(", "),
            });
        };
        Ok(Self {
            key,
            version_id: find("versionid"),
            is_latest: find("islatest"),
            is_delete_marker: find("isdeletemarker"),
            size: find("size"),
            last_modified: find("lastmodifieddate"),
            etag: find("etag"),
            replication_status: find("replicationstatus"),
            count: names.len(),
        })
    }
}

/// One inventory row: one object version (or delete marker). Readers fill one `Row` again and
/// again (no allocation per row once its strings have grown).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// Decoded.
    pub key: String,
    /// Empty for a current-version-only report (or the null version).
    pub version_id: String,
    pub is_latest: Option<bool>,
    pub is_delete_marker: bool,
    pub size: Option<i64>,
    pub last_modified: Option<DateTime<Utc>>,
    /// Empty when the report has none (delete markers, or the column not listed).
    pub etag: String,
    /// Empty when S3 gives none (never replicated, or the column not listed).
    pub replication_status: String,
}

impl Row {
    /// S3's limits, checked once per row whatever the format: a key is at most 1,024 bytes,
    /// and no other field of an inventory row comes near that.
    pub fn check(&self) -> Result<(), String> {
        if self.key.is_empty() {
            return Err("the key is empty".into());
        }
        if self.key.len() > keys::MAX_KEY_BYTES {
            return Err(format!(
                "the key is {} bytes, longer than S3's {}-byte limit",
                self.key.len(),
                keys::MAX_KEY_BYTES
            ));
        }
        for (name, value) in [
            ("version id", &self.version_id),
            ("ETag", &self.etag),
            ("replication status", &self.replication_status),
        ] {
            if value.len() > keys::MAX_KEY_BYTES {
                return Err(format!("the {name} is {} bytes long", value.len()));
            }
        }
        Ok(())
    }
}

/// Where each field of one CSV line is: `(start, end, holds doubled quotes)`.
#[derive(Debug, Default)]
pub struct CsvFields {
    spans: Vec<(usize, usize, bool)>,
    unescaped: String,
}

impl CsvFields {
    /// Splits one line (RFC 4180 quoting; S3 quotes every field).
    pub fn split(&mut self, line: &[u8]) -> Result<(), String> {
        self.spans.clear();
        let mut i = 0;
        loop {
            if line.get(i) == Some(&b'"') {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                loop {
                    match memchr::memchr(b'"', &line[j..]) {
                        None => return Err("unterminated quoted field".into()),
                        Some(offset) => j += offset,
                    }
                    if line.get(j + 1) == Some(&b'"') {
                        escaped = true;
                        j += 2;
                    } else {
                        break;
                    }
                }
                self.spans.push((start, j, escaped));
                match line.get(j + 1) {
                    None => return Ok(()),
                    Some(b',') => i = j + 2,
                    Some(other) => {
                        return Err(format!(
                            "unexpected {:?} after a quoted field",
                            *other as char
                        ))
                    }
                }
            } else {
                match memchr::memchr(b',', &line[i..]) {
                    None => {
                        self.spans.push((i, line.len(), false));
                        return Ok(());
                    }
                    Some(offset) => {
                        self.spans.push((i, i + offset, false));
                        i += offset + 1;
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `index` of `line` as bytes, not checked for UTF-8 (the caller checks what it
    /// makes of them).
    pub fn bytes<'a>(&'a mut self, line: &'a [u8], index: usize) -> Result<&'a [u8], String> {
        match self.spans[index] {
            (start, end, false) => Ok(&line[start..end]),
            (_, _, true) => self.get(line, index).map(str::as_bytes),
        }
    }

    /// Field `index` of `line` as text (doubled quotes undone).
    pub fn get<'a>(&'a mut self, line: &'a [u8], index: usize) -> Result<&'a str, String> {
        let (start, end, escaped) = self.spans[index];
        let text = std::str::from_utf8(&line[start..end])
            .map_err(|_| format!("field {} is not UTF-8", index + 1))?;
        if !escaped {
            return Ok(text);
        }
        self.unescaped = text.replace("\"\"", "\"");
        Ok(&self.unescaped)
    }
}

/// Splits one CSV line into owned fields (tests and messages; readers use [`CsvFields`]).
pub fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = CsvFields::default();
    fields.split(line.as_bytes())?;
    (0..fields.len())
        .map(|i| fields.get(line.as_bytes(), i).map(str::to_string))
        .collect()
}

/// Decodes one CSV data row by `columns` into `row`.
pub fn parse_row_into(
    line: &[u8],
    columns: &Columns,
    fields: &mut CsvFields,
    row: &mut Row,
) -> Result<(), String> {
    fields.split(line)?;
    if fields.len() != columns.count {
        return Err(format!(
            "{} fields, but fileSchema names {}",
            fields.len(),
            columns.count
        ));
    }
    fn text<'a>(
        fields: &'a mut CsvFields,
        line: &'a [u8],
        index: Option<usize>,
    ) -> Result<&'a str, String> {
        match index {
            Some(index) => fields.get(line, index),
            None => Ok(""),
        }
    }
    fn boolean(value: &str) -> Result<Option<bool>, String> {
        match value {
            "" => Ok(None),
            v if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            v if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            v => Err(format!("{v:?} is not true/false")),
        }
    }
    // The decoded key is checked for UTF-8 once, after decoding.
    decode_key_into(fields.bytes(line, columns.key)?, &mut row.key)?;
    row.version_id.clear();
    row.version_id
        .push_str(text(fields, line, columns.version_id)?);
    row.is_latest = boolean(text(fields, line, columns.is_latest)?)?;
    row.is_delete_marker = boolean(text(fields, line, columns.is_delete_marker)?)?.unwrap_or(false);
    row.size = match text(fields, line, columns.size)? {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| format!("size {v:?} is not a number"))?,
        ),
    };
    row.last_modified = match text(fields, line, columns.last_modified)? {
        "" => None,
        v => Some(match s3_timestamp(v) {
            Some(time) => time,
            None => DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| format!("LastModifiedDate {v:?} is not ISO 8601"))?,
        }),
    };
    row.etag.clear();
    row.etag.push_str(text(fields, line, columns.etag)?);
    row.replication_status.clear();
    row.replication_status
        .push_str(text(fields, line, columns.replication_status)?);
    row.check()
}

/// [`keys::decode_event_key_into`], quicker on the common case (runs between escapes found
/// with `memchr`); anything it would refuse is handed to it, so the result and every error are
/// its own.
fn decode_key_into(bytes: &[u8], key: &mut String) -> Result<(), String> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let slow =
        |key: &mut String| keys::decode_event_key_into(bytes, key).map_err(|e| e.to_string());
    let mut out = std::mem::take(key).into_bytes();
    out.clear();
    let mut i = 0;
    loop {
        // Escapes in a row (a character of several bytes is several) without a search each.
        match bytes.get(i) {
            Some(b'+') => {
                out.push(b' ');
                i += 1;
                continue;
            }
            Some(b'%') => match bytes
                .get(i + 1..i + 3)
                .and_then(|pair| Some(hex(pair[0])? << 4 | hex(pair[1])?))
            {
                Some(value) => {
                    out.push(value);
                    i += 3;
                    continue;
                }
                None => return slow(key),
            },
            _ => {}
        }
        match memchr::memchr2(b'%', b'+', &bytes[i..]) {
            Some(run) => {
                out.extend_from_slice(&bytes[i..i + run]);
                i += run;
            }
            None => {
                out.extend_from_slice(&bytes[i..]);
                break;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) if !decoded.is_empty() && decoded.len() <= keys::MAX_KEY_BYTES => {
            *key = decoded;
            Ok(())
        }
        _ => slow(key),
    }
}

/// A time exactly as S3 Inventory writes `LastModifiedDate` (`2026-11-25T10:00:00.000Z`), or
/// `None` for anything else (then `DateTime::parse_from_rfc3339` decides, as before). Equal to
/// what `parse_from_rfc3339` makes of the same text (unit test).
fn s3_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 24
        || (b[4], b[7], b[10], b[13], b[16], b[19], b[23])
            != (b'-', b'-', b'T', b':', b':', b'.', b'Z')
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second, milli) = (
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        number(20..23)?,
    );
    // A leap second (:60) is left to chrono.
    if second > 59 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?
        .and_hms_milli_opt(hour, minute, second, milli)
        .map(|t| t.and_utc())
}

/// Decodes one CSV data row by `columns`.
pub fn parse_row(line: &str, columns: &Columns) -> Result<Row, String> {
    let mut row = Row::default();
    parse_row_into(
        line.as_bytes(),
        columns,
        &mut CsvFields::default(),
        &mut row,
    )?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_columns(schema: &str) -> Result<Columns, InventoryError> {
        let names: Vec<String> = schema.split(',').map(str::to_string).collect();
        Columns::from_names("m", &names)
    }

    #[test]
    fn columns_are_found_by_name_whatever_the_order_or_spelling() {
        let columns = csv_columns("Bucket, Key, Size, ReplicationStatus").unwrap();
        assert_eq!(
            (columns.key, columns.size, columns.version_id),
            (1, Some(2), None)
        );
        let snake = csv_columns("bucket,key,version_id,is_delete_marker").unwrap();
        assert_eq!(snake.is_delete_marker, Some(3));
        assert!(matches!(
            csv_columns("Bucket, Size"),
            Err(InventoryError::NoKey { .. })
        ));
    }

    #[test]
    fn rows_decode_quoted_fields_and_url_encoded_keys() {
        let columns = csv_columns(
            "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, ReplicationStatus",
        )
        .unwrap();
        let row = parse_row(
            r#""b","Screen+Shot+1%2B1.png","v1","true","false","4","2026-11-25T10:00:00.000Z","e","COMPLETED""#,
            &columns,
        )
        .unwrap();
        assert_eq!(row.key, "Screen Shot 1+1.png");
        assert_eq!(row.is_latest, Some(true));
        assert_eq!(row.size, Some(4));
        assert_eq!(row.replication_status, "COMPLETED");
        let marker = parse_row(
            r#""b","k","v2","true","true","","2026-11-25T10:00:00.000Z","","""#,
            &columns,
        )
        .unwrap();
        assert!(marker.is_delete_marker && marker.size.is_none() && marker.etag.is_empty());
        assert!(parse_row(r#""b","k""#, &columns).is_err());
        let long = format!(
            r#""b","{}","v","true","false","","","","""#,
            "k".repeat(1025)
        );
        assert!(parse_row(&long, &columns)
            .unwrap_err()
            .contains("1024-byte limit"));
        let long_version = format!(
            r#""b","k","{}","true","false","","","","""#,
            "v".repeat(1025)
        );
        assert!(parse_row(&long_version, &columns).is_err());
        assert!(parse_row(r#""b","k","v","maybe","false","","","","""#, &columns).is_err());
    }

    #[test]
    fn a_parquet_file_schema_names_its_fields_in_order() {
        let message = "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional boolean is_latest; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); }";
        assert_eq!(
            parquet_message_fields(message).unwrap(),
            ["bucket", "key", "is_latest", "last_modified_date", "e_tag"]
        );
        let columns = Columns::from_names("m", &parquet_message_fields(message).unwrap()).unwrap();
        assert_eq!((columns.key, columns.etag), (1, Some(4)));
        assert_eq!(parquet_message_fields("Bucket, Key"), None);
        assert_eq!(
            parquet_message_fields("message m { required binary; }"),
            None
        );
    }

    #[test]
    fn s3_timestamps_parse_as_rfc_3339_does() {
        let rfc3339 = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        for text in [
            "2026-11-25T10:00:00.000Z",
            "2026-11-25T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
            "2024-02-29T12:34:56.789Z",
            "0001-01-01T00:00:00.001Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            assert_eq!(s3_timestamp(text), rfc3339(text), "{text}");
            assert!(s3_timestamp(text).is_some(), "{text}");
        }
        // Not the exact S3 form, or not a time: left to parse_from_rfc3339.
        for text in [
            "2025-02-29T12:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-25T24:00:00.000Z",
            "2026-11-25T10:60:00.000Z",
            "2016-12-31T23:59:60.000Z",
            "2026-11-25T10:00:00Z",
            "2026-11-25T10:00:00.000+01:00",
            "2026-11-25t10:00:00.000z",
            "2026-11-25 10:00:00.000Z",
            "2026-1a-25T10:00:00.000Z",
            "+026-11-25T10:00:00.000Z",
        ] {
            assert_eq!(s3_timestamp(text), None, "{text}");
        }
    }

    #[test]
    fn keys_decode_as_the_event_decoder_decodes_them() {
        let mut fast = String::new();
        for raw in [
            "plain/key.txt",
            "Screen+Shot+1%2B1.png",
            "%E6%97%A5%E6%9C%AC+%F0%9F%8E%89",
            "%e6%97%a5lower",
            "trailing+",
            "%41%42%43",
            "100%25",
            "",
            "%",
            "%4",
            "%zz",
            "%+A",
            "%FF%FE",
            "%C3",
            "ok%2",
            "+",
        ] {
            let expected = keys::decode_event_key(raw).map_err(|e| e.to_string());
            let got = decode_key_into(raw.as_bytes(), &mut fast).map(|()| fast.clone());
            assert_eq!(got, expected, "{raw:?}");
        }
        let long = "a".repeat(keys::MAX_KEY_BYTES + 1);
        assert_eq!(
            decode_key_into(long.as_bytes(), &mut fast),
            keys::decode_event_key(&long)
                .map(|_| ())
                .map_err(|e| e.to_string())
        );
    }

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(
            split_csv(r#""a ""b""",c,"""#).unwrap(),
            ["a \"b\"", "c", ""]
        );
        assert!(split_csv(r#""open"#).is_err());
    }
}
