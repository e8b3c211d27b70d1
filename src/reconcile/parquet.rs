//! S3 Inventory Parquet data files (S3 user guide, "S3 Inventory": "Inventory list"): the columns
//! S3 names in snake case (`key`, `version_id`, `is_latest`, `is_delete_marker`, `size`,
//! `last_modified_date` as a millisecond timestamp, `e_tag`, `replication_status`, …), keys as they
//! are (not URL-encoded as in CSV). Columns are found by each file's own schema, by name.
//!
//! Read with the `parquet` crate's record reader (no Arrow): inventories are read once, row by row,
//! and the record reader keeps one row group's pages in memory at a time.

use super::manifest::{Columns, InventoryError, Row};
use chrono::{DateTime, Utc};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::fs::File;
use std::path::Path;

/// Every row of one Parquet data file, in file order.
pub fn rows(
    path: &Path,
) -> Result<impl Iterator<Item = Result<Row, InventoryError>>, InventoryError> {
    let name = path.display().to_string();
    let file_error = |reason: String| InventoryError::File {
        path: name.clone(),
        reason,
    };
    let file = File::open(path).map_err(|e| file_error(e.to_string()))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| file_error(format!("not a readable Parquet file: {e}")))?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|field| field.name().to_string())
        .collect();
    let columns = Columns::from_names(&name, &names)?;
    Ok(reader.into_iter().enumerate().map(move |(index, record)| {
        let row_error = |reason: String| InventoryError::Row {
            path: name.clone(),
            line: index as u64 + 1,
            reason,
        };
        let record = record.map_err(|e| row_error(format!("unreadable row: {e}")))?;
        let fields: Vec<&Field> = record.get_column_iter().map(|(_, field)| field).collect();
        row_of(&fields, &columns).map_err(row_error)
    }))
}

/// Decodes one record by `columns` (positions in the file's schema).
fn row_of(fields: &[&Field], columns: &Columns) -> Result<Row, String> {
    // Null and an empty string both mean "no value" (as an empty CSV field does).
    let get = |index: Option<usize>| {
        index
            .and_then(|i| fields.get(i).copied())
            .filter(|field| !matches!(field, Field::Null))
            .filter(|field| !matches!(field, Field::Str(value) if value.is_empty()))
    };
    let text = |index: Option<usize>, name: &str| -> Result<String, String> {
        match get(index) {
            None => Ok(String::new()),
            Some(Field::Str(value)) => Ok(value.clone()),
            Some(other) => Err(format!("{name} is {other:?}, not a string")),
        }
    };
    let boolean = |index: Option<usize>, name: &str| -> Result<Option<bool>, String> {
        match get(index) {
            None => Ok(None),
            Some(Field::Bool(value)) => Ok(Some(*value)),
            Some(other) => Err(format!("{name} is {other:?}, not a boolean")),
        }
    };
    let key = text(Some(columns.key), "key")?;
    let size = match get(columns.size) {
        None => None,
        Some(Field::Long(value)) => Some(*value),
        Some(Field::Int(value)) => Some(i64::from(*value)),
        Some(other) => return Err(format!("size is {other:?}, not an integer")),
    };
    let last_modified = match get(columns.last_modified) {
        None => None,
        Some(Field::TimestampMillis(millis)) => DateTime::<Utc>::from_timestamp_millis(*millis),
        Some(Field::TimestampMicros(micros)) => DateTime::<Utc>::from_timestamp_micros(*micros),
        Some(other) => return Err(format!("last_modified_date is {other:?}, not a timestamp")),
    };
    let row = Row {
        key,
        version_id: text(columns.version_id, "version_id")?,
        is_latest: boolean(columns.is_latest, "is_latest")?,
        is_delete_marker: boolean(columns.is_delete_marker, "is_delete_marker")?.unwrap_or(false),
        size,
        last_modified,
        etag: text(columns.etag, "e_tag")?,
        replication_status: text(columns.replication_status, "replication_status")?,
    };
    row.check()?;
    Ok(row)
}
