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

/// One inventory row: one object version (or delete marker).
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
    pub etag: Option<String>,
    pub replication_status: Option<String>,
}

/// Splits one CSV line (RFC 4180 quoting; S3 quotes every field).
pub fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut started = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if !started => {
                quoted = true;
                started = true;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    match chars.peek() {
                        None | Some(',') => {}
                        Some(other) => {
                            return Err(format!("unexpected {other:?} after a quoted field"))
                        }
                    }
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                started = false;
            }
            (_, c) => {
                field.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Decodes one CSV data row by `columns`.
pub fn parse_row(line: &str, columns: &Columns) -> Result<Row, String> {
    let fields = split_csv(line)?;
    if fields.len() != columns.count {
        return Err(format!(
            "{} fields, but fileSchema names {}",
            fields.len(),
            columns.count
        ));
    }
    let get = |index: Option<usize>| index.map(|i| fields[i].as_str()).filter(|v| !v.is_empty());
    let boolean = |index: Option<usize>| -> Result<Option<bool>, String> {
        match get(index) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(format!("{v:?} is not true/false")),
        }
    };
    let key = keys::decode_event_key(&fields[columns.key]).map_err(|e| e.to_string())?;
    let size = get(columns.size)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| format!("size {v:?} is not a number"))
        })
        .transpose()?;
    let last_modified = get(columns.last_modified)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| format!("LastModifiedDate {v:?} is not ISO 8601"))
        })
        .transpose()?;
    Ok(Row {
        key,
        version_id: get(columns.version_id).unwrap_or_default().to_string(),
        is_latest: boolean(columns.is_latest)?,
        is_delete_marker: boolean(columns.is_delete_marker)?.unwrap_or(false),
        size,
        last_modified,
        etag: get(columns.etag).map(str::to_string),
        replication_status: get(columns.replication_status).map(str::to_string),
    })
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
        assert_eq!(row.replication_status.as_deref(), Some("COMPLETED"));
        let marker = parse_row(
            r#""b","k","v2","true","true","","2026-11-25T10:00:00.000Z","","""#,
            &columns,
        )
        .unwrap();
        assert!(marker.is_delete_marker && marker.size.is_none() && marker.etag.is_none());
        assert!(parse_row(r#""b","k""#, &columns).is_err());
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
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(
            split_csv(r#""a ""b""",c,"""#).unwrap(),
            ["a \"b\"", "c", ""]
        );
        assert!(split_csv(r#""open"#).is_err());
    }
}
