//! `reconcile --engine athena`: the same decision table as SQL, run by Amazon Athena over both
//! inventories, so that no row passes through the machine that started it.
//!
//! Pure: [`athena.sql`](athena.sql) is the one SQL text (tables, the verdict of every version,
//! the counts, the re-drive UNLOAD); this module fills its placeholders from the two manifests,
//! the source's replication rules and the settings, and turns the counts query's few result
//! rows back into the [`Outcome`] the local join prints. The SDK calls are in
//! `crate::aws::athena`.

use super::manifest::Manifest;
use super::settings::row_coverage;
use super::{JoinInfo, Outcome, Redrive, RowCounts, RowTotals, Rules};
use crate::audit::rules::{Destination, ReplicationRules, RuleCoverage};
use crate::audit::{Verdict, VerdictPolicy};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The SQL, reviewed like code.
pub const SQL: &str = include_str!("athena.sql");

/// Athena's price: "$5.00 per TB of data scanned", "rounded up to the nearest megabyte, with a
/// 10 MB minimum per query" (Amazon Athena pricing, SQL queries).
pub const PRICE_PER_TB_USD: f64 = 5.0;
pub const MINIMUM_BYTES_PER_QUERY: u64 = 10_000_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AthenaError {
    #[error("{0}")]
    Input(String),
    #[error("the Athena result is not the counts query's: {0}")]
    Result(String),
}

/// A report's data format, as `fileFormat` spells it (Athena reads all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Orc,
}

/// One side's report as Athena sees it: its table and the partition of this report.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub bucket: String,
    pub format: Format,
    /// (column name in snake case, Athena type), in the report's order.
    pub columns: Vec<(String, String)>,
    /// `s3://REPORT-BUCKET/PREFIX/SOURCE/CONFIG-ID/hive/`.
    pub location: String,
    /// The `dt` partition of this report: `YYYY-MM-DD-HH-MM`.
    pub dt: String,
    pub created: DateTime<Utc>,
}

impl Side {
    /// From a manifest and where it is (`s3://REPORT-BUCKET/…/SOURCE/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json`).
    pub fn from_manifest(url: &str, text: &str) -> Result<Self, AthenaError> {
        let input = |reason: String| AthenaError::Input(format!("{url}: {reason}"));
        let manifest: Manifest = serde_json::from_str(text)
            .map_err(|e| input(format!("not an S3 Inventory manifest.json: {e}")))?;
        let format = match manifest.file_format.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "parquet" => Format::Parquet,
            "orc" => Format::Orc,
            other => {
                return Err(input(format!(
                    "fileFormat {other:?} is not CSV, ORC or Parquet"
                )))
            }
        };
        let columns = columns_of(format, &manifest.file_schema).ok_or_else(|| {
            input(format!(
                "fileSchema {:?} cannot be read",
                manifest.file_schema
            ))
        })?;
        if !columns.iter().any(|(name, _)| name == "key") {
            return Err(input("fileSchema has no Key column".into()));
        }
        let created = manifest
            .created()
            .ok_or_else(|| input("creationTimestamp is not epoch milliseconds".into()))?;
        // "Locating your inventory list": the manifest is at …/CONFIG-ID/YYYY-MM-DDTHH-MMZ/, the
        // symlinks at …/CONFIG-ID/hive/dt=YYYY-MM-DD-HH-MM/.
        let (bucket_and_key, stamp) = url
            .strip_prefix("s3://")
            .and_then(|rest| rest.strip_suffix("/manifest.json"))
            .and_then(|rest| rest.rsplit_once('/'))
            .ok_or_else(|| {
                input("expected s3://REPORT-BUCKET/…/YYYY-MM-DDTHH-MMZ/manifest.json".into())
            })?;
        let dt = stamp
            .strip_suffix('Z')
            .filter(|s| s.len() == 16 && s.as_bytes()[10] == b'T')
            .map(|s| s.replacen('T', "-", 1))
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
            .ok_or_else(|| {
                input(format!(
                    "{stamp:?} is not the YYYY-MM-DDTHH-MMZ folder S3 writes"
                ))
            })?;
        // The location is a string literal of Hive DDL, where a backslash escapes: neither it
        // nor a quote may be in it (S3 Inventory's own prefixes hold neither).
        if bucket_and_key.contains(['\\', '\'']) {
            return Err(input(
                "a report location with a backslash or a quote cannot be an Athena table's LOCATION"
                    .into(),
            ));
        }
        Ok(Self {
            bucket: manifest.source_bucket.clone(),
            format,
            columns,
            location: format!("s3://{bucket_and_key}/hive/"),
            dt,
            created,
        })
    }

    /// The report lists this column (snake case: `version_id`).
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|(name, _)| name == column)
    }

    /// The table: per source bucket, format and columns (a report of another shape gets its
    /// own, so a reused table always fits).
    pub fn table(&self, database: &str) -> String {
        let mut hash: u32 = 2_166_136_261;
        for byte in format!("{:?}{:?}{}", self.format, self.columns, self.location).bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(16_777_619);
        }
        let bucket: String = self
            .bucket
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("{database}.inventory_{bucket}_{hash:08x}")
    }

    /// `CREATE EXTERNAL TABLE IF NOT EXISTS` for this side.
    pub fn create_table(&self, database: &str) -> Result<String, AthenaError> {
        let (serde, output_format) = match self.format {
            Format::Csv => (
                "org.apache.hadoop.hive.serde2.OpenCSVSerde",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            ),
            Format::Parquet => (
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            ),
            Format::Orc => (
                "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
                "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat",
            ),
        };
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, kind)| format!("  `{name}` {kind}"))
            .collect();
        fill(
            "create_table",
            &[
                ("table", self.table(database)),
                ("serde", literal(serde)),
                ("output_format", literal(output_format)),
                ("columns", columns.join(",\n")),
                ("location", literal(&self.location)),
            ],
        )
    }

    /// The expressions that put this side's rows in one shape (see athena.sql).
    fn shape(&self, prefix: &str) -> Vec<(String, String)> {
        let key = match self.format {
            Format::Csv => "url_decode(key)".to_string(),
            _ => "key".to_string(),
        };
        let text = |column: &str| match self.has(column) {
            true => format!("coalesce(CAST({column} AS varchar), '')"),
            false => "''".to_string(),
        };
        let marker = match self.has("is_delete_marker") {
            true => "coalesce(lower(CAST(is_delete_marker AS varchar)) = 'true', false)".into(),
            false => "false".to_string(),
        };
        let modified = match (self.has("last_modified_date"), self.format) {
            (false, _) => "CAST(NULL AS timestamp with time zone)".to_string(),
            (true, Format::Csv) => {
                "from_iso8601_timestamp(nullif(last_modified_date, ''))".to_string()
            }
            (true, _) => "CAST(last_modified_date AS timestamp with time zone)".to_string(),
        };
        [
            ("key", key),
            ("version", text("version_id")),
            ("marker", marker),
            ("modified", modified),
            ("status", text("replication_status")),
        ]
        .into_iter()
        .map(|(name, expression)| (format!("{prefix}_{name}"), expression))
        .collect()
    }
}

/// What one reconcile asks of Athena.
#[derive(Debug, Clone)]
pub struct Plan {
    pub database: String,
    pub source: Side,
    pub destination: Side,
    pub rules: Rules,
    pub policy: VerdictPolicy,
    /// `s3://…/` for the re-drive UNLOAD.
    pub redrive: Option<String>,
}

impl Plan {
    /// The verdict of every version (the `classified` CTE), filled.
    fn classified(&self) -> Result<String, AthenaError> {
        let destination = Destination::new(self.destination.bucket.clone(), self.account());
        let mut values = self.source.shape("source");
        values.extend(self.destination.shape("destination"));
        values.extend([
            (
                "source_table".to_string(),
                self.source.table(&self.database),
            ),
            (
                "destination_table".to_string(),
                self.destination.table(&self.database),
            ),
            ("source_dt".to_string(), self.source.dt.clone()),
            ("destination_dt".to_string(), self.destination.dt.clone()),
            ("now".to_string(), timestamp(self.source.created)),
            (
                "late_after_ms".to_string(),
                self.policy.late_after.num_milliseconds().to_string(),
            ),
            (
                "alarm_on_unreplicated".to_string(),
                self.policy.alarm_on_unreplicated.to_string(),
            ),
            (
                "object_coverage".to_string(),
                coverage_sql(&self.rules, &destination, false),
            ),
            (
                "marker_coverage".to_string(),
                coverage_sql(&self.rules, &destination, true),
            ),
        ]);
        let values: Vec<(&str, String)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        fill("classified", &values)
    }

    fn account(&self) -> Option<String> {
        match &self.rules {
            Rules::Read(Some(rules)) => rules.account_of(&self.destination.bucket),
            _ => None,
        }
    }

    /// The counts query (the one query of a reconcile).
    pub fn counts_query(&self) -> Result<String, AthenaError> {
        fill("counts", &[("classified", self.classified()?)])
    }

    /// Every version with its verdict (for tests and by hand).
    pub fn rows_query(&self) -> Result<String, AthenaError> {
        fill("rows", &[("classified", self.classified()?)])
    }

    /// The re-drive UNLOAD, if a manifest was asked for.
    pub fn redrive_query(&self) -> Result<Option<String>, AthenaError> {
        let Some(location) = &self.redrive else {
            return Ok(None);
        };
        let version = match self.source.has("version_id") {
            true => ", CASE WHEN version_id = '' THEN 'null' ELSE version_id END",
            false => "",
        };
        let columns = format!(
            "{}, replace(url_encode(key), '%2F', '/'){version}",
            literal(&self.source.bucket)
        );
        fill(
            "redrive",
            &[
                ("classified", self.classified()?),
                ("redrive_columns", columns),
                ("redrive_location", literal(location)),
            ],
        )
        .map(Some)
    }
}

/// Rule coverage of a key as SQL: a `CASE` on the key's longest matching rule prefix, each
/// branch what `ReplicationRules::coverage` answers for a key with exactly those prefixes
/// (the rules that cover a key are those whose prefix it starts with; nothing else of the key
/// matters once tags cannot be read), as `Context::coverage` in mod.rs asks it.
pub fn coverage_sql(rules: &Rules, destination: &Destination, marker: bool) -> String {
    let rules = match rules {
        Rules::Read(None) => return "'no_configuration'".into(),
        Rules::Read(Some(rules)) => rules,
        _ => return "'unknown'".into(),
    };
    let mut prefixes: Vec<&str> = rules.rules.iter().map(|r| r.prefix.as_str()).collect();
    prefixes.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    prefixes.dedup();
    let mut sql = String::from("CASE");
    for prefix in &prefixes {
        let coverage = coverage_name(row_coverage(rules, prefix, marker, &destination.bucket));
        sql.push_str(&format!(
            " WHEN starts_with(s.key, {}) THEN '{coverage}'",
            literal(prefix)
        ));
    }
    // A key no prefix covers: no rule at all applies to it.
    let uncovered = ReplicationRules {
        role_arn: rules.role_arn.clone(),
        rules: Vec::new(),
    };
    let coverage = coverage_name(row_coverage(&uncovered, "", marker, &destination.bucket));
    sql.push_str(&format!(" ELSE '{coverage}' END"));
    sql
}

/// The name the SQL gives a coverage ([`row_coverage`], as the local join asks it).
fn coverage_name(coverage: RuleCoverage) -> &'static str {
    match coverage {
        RuleCoverage::Covered => "covered",
        RuleCoverage::ExcludedByTags => "excluded_by_tags",
        RuleCoverage::NotCovered => "not_covered",
        RuleCoverage::NoConfiguration => "no_configuration",
        // Encryption and storage class are not in the SQL's inputs: never ineligible.
        RuleCoverage::Ineligible(_) | RuleCoverage::Unknown => "unknown",
    }
}

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A point in time as Athena's `from_iso8601_timestamp` reads it.
fn timestamp(time: DateTime<Utc>) -> String {
    format!(
        "from_iso8601_timestamp('{}')",
        time.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
}

/// One section of [`SQL`] with its placeholders filled; a placeholder left over is a bug.
pub fn fill(section: &str, values: &[(&str, String)]) -> Result<String, AthenaError> {
    let marker = format!("-- section: {section}\n");
    let start = SQL
        .find(&marker)
        .ok_or_else(|| AthenaError::Input(format!("athena.sql has no section {section}")))?;
    let body = &SQL[start + marker.len()..];
    let body = &body[..body.find("\n-- section: ").unwrap_or(body.len())];
    let text: String = body
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    // One pass over the template only: a value is never searched for placeholders again (a
    // rule prefix or a URL holding `{{…}}` stays text inside its literal).
    let mut filled = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("{{") {
        filled.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let name = after.find("}}").map(|end| &after[..end]);
        match name.and_then(|name| values.iter().find(|(n, _)| *n == name)) {
            Some((name, value)) => {
                filled.push_str(value);
                rest = &after[name.len() + 2..];
            }
            None => {
                return Err(AthenaError::Input(format!(
                    "athena.sql section {section}: placeholder {{{{{}}}}} not filled",
                    name.unwrap_or(after)
                )))
            }
        }
    }
    filled.push_str(rest);
    let text = filled;
    Ok(text.trim().to_string())
}

/// `ETag` → `e_tag`, `VersionId` → `version_id`: the column names of the user guide's tables.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let before = chars[i - 1];
            let after = chars.get(i + 1).copied().unwrap_or('A');
            if before.is_ascii_lowercase()
                || (before.is_ascii_uppercase() && after.is_ascii_lowercase())
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The report's columns as the table declares them.
fn columns_of(format: Format, schema: &str) -> Option<Vec<(String, String)>> {
    let valid = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let columns: Vec<(String, String)> = match format {
        // OpenCSVSerDe reads every field as a string.
        Format::Csv => schema
            .split(',')
            .map(|name| (snake_case(name), "string".to_string()))
            .collect(),
        // `message s3.inventory { optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); … }`
        Format::Parquet => {
            let body = schema.trim().strip_prefix("message")?.split_once('{')?.1;
            let body = body.trim_end().strip_suffix('}')?;
            body.split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|field| {
                    let parts: Vec<&str> = field.split_whitespace().collect();
                    let kind = match (parts.get(1).copied()?, field.contains("TIMESTAMP")) {
                        (_, true) => "timestamp",
                        ("boolean", _) => "boolean",
                        ("int64", _) => "bigint",
                        ("int32", _) => "int",
                        _ => "string",
                    };
                    Some((parts.get(2)?.to_string(), kind.to_string()))
                })
                .collect::<Option<_>>()?
        }
        // `struct<bucket:string,key:string,size:bigint,…>`
        Format::Orc => {
            let body = schema.trim().strip_prefix("struct<")?.strip_suffix('>')?;
            body.split(',')
                .map(|field| {
                    let (name, kind) = field.split_once(':')?;
                    Some((name.trim().to_string(), kind.trim().to_string()))
                })
                .collect::<Option<_>>()?
        }
    };
    let types_ok = columns.iter().all(|(name, kind)| {
        valid(name) && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    (!columns.is_empty() && types_ok).then_some(columns)
}

/// What the counts query answered: one row per verdict (`destination_only` for rows written to
/// the destination directly), columns as athena.sql's `counts` section names them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub verdicts: BTreeMap<String, u64>,
    pub alarming: u64,
    pub redrive: u64,
    pub source_rows: u64,
    pub destination_rows: u64,
    pub destination_only: u64,
    pub source_replicas: u64,
}

const COUNT_COLUMNS: [&str; 7] = [
    "verdict",
    "versions",
    "alarming",
    "redrive",
    "source_rows",
    "destination_rows",
    "source_replicas",
];

impl Counts {
    /// From the result rows, header first (as GetQueryResults returns a SELECT's).
    /// The rows both reports held, for [`RowTotals::odd_pair`].
    pub fn totals(&self) -> RowTotals {
        RowTotals {
            source: self.source_rows,
            destination: self.destination_rows,
            source_replicas: self.source_replicas,
        }
    }

    pub fn parse(rows: &[Vec<String>]) -> Result<Self, AthenaError> {
        let Some((header, rows)) = rows.split_first() else {
            return Err(AthenaError::Result("no rows".into()));
        };
        if header.iter().map(String::as_str).ne(COUNT_COLUMNS) {
            return Err(AthenaError::Result(format!("columns {header:?}")));
        }
        let known: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        let mut counts = Counts::default();
        for row in rows {
            let number = |i: usize| -> Result<u64, AthenaError> {
                row.get(i)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| AthenaError::Result(format!("row {row:?}")))
            };
            let verdict = row.first().map(String::as_str).unwrap_or_default();
            let versions = number(1)?;
            counts.alarming += number(2)?;
            counts.redrive += number(3)?;
            counts.source_rows += number(4)?;
            counts.destination_rows += number(5)?;
            counts.source_replicas += number(6)?;
            match verdict {
                "destination_only" => counts.destination_only += versions,
                v if known.contains(&v) => {
                    *counts.verdicts.entry(v.to_string()).or_default() += versions
                }
                v => return Err(AthenaError::Result(format!("unknown verdict {v:?}"))),
            }
        }
        Ok(counts)
    }
}

/// The dollars a query that scanned `bytes` costs (see [`PRICE_PER_TB_USD`]).
pub fn cost_usd(bytes: u64) -> f64 {
    let billed = bytes.max(MINIMUM_BYTES_PER_QUERY).div_ceil(1_000_000) * 1_000_000;
    billed as f64 / 1e12 * PRICE_PER_TB_USD
}

/// The outcome the local join would print, from Athena's counts, after the same refusals
/// ([`RowTotals::odd_pair`]: an empty source report, swapped manifests).
pub fn outcome(
    plan: &Plan,
    counts: &Counts,
    redrive: Option<String>,
) -> Result<Outcome, AthenaError> {
    if let Some(why) = counts
        .totals()
        .odd_pair(&plan.rules, &plan.source.bucket, None)
    {
        return Err(AthenaError::Input(why));
    }
    let all: BTreeMap<&'static str, u64> = Verdict::ALL
        .iter()
        .map(|v| {
            (
                v.as_str(),
                counts.verdicts.get(v.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    Ok(Outcome {
        source_bucket: plan.source.bucket.clone(),
        destination_bucket: plan.destination.bucket.clone(),
        counts: all,
        rows: RowCounts {
            source: counts.source_rows,
            destination: counts.destination_rows,
            destination_only: counts.destination_only,
        },
        findings: Vec::new(),
        // Findings stay in Athena: the re-drive manifest lists what to fix.
        findings_truncated: counts.alarming > 0,
        alarming: counts.alarming,
        join: JoinInfo {
            partitions: 0,
            spilled: false,
            memory_budget_bytes: 0,
        },
        rules: plan.rules.describe(),
        redrive: redrive.map(|path| Redrive {
            path,
            objects: counts.redrive,
        }),
        metrics: None,
    })
}

/// The manifest.json that makes the UNLOAD's files one S3 Batch Replication manifest: the
/// `S3InventoryReport_CSV_20161130` format (S3 API Reference, JobManifestSpec) lists gzip CSV
/// files without a header, which is what UNLOAD's TEXTFILE writes; `fileSchema` names the
/// columns ("Configuring Amazon S3 Inventory": Bucket, Key, VersionId). `files`: (key, size,
/// MD5 of the object, which S3 gives as the ETag of an object written in one part).
pub fn redrive_manifest(
    plan: &Plan,
    report_bucket: &str,
    files: &[(String, u64, String)],
    created: DateTime<Utc>,
) -> String {
    let schema = match plan.source.has("version_id") {
        true => "Bucket, Key, VersionId",
        false => "Bucket, Key",
    };
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(key, size, md5)| serde_json::json!({"key": key, "size": size, "MD5checksum": md5}))
        .collect();
    serde_json::json!({
        "sourceBucket": plan.source.bucket,
        "destinationBucket": format!("arn:aws:s3:::{report_bucket}"),
        "version": "2016-11-30",
        "creationTimestamp": created.timestamp_millis().to_string(),
        "fileFormat": "CSV",
        "fileSchema": schema,
        "files": files,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::{ReplicationRule, RuleSchema};

    const URL: &str = "s3://reports/inventory/src/all/2026-12-01T01-05Z/manifest.json";

    fn manifest(format: &str, schema: &str) -> String {
        serde_json::json!({
            "sourceBucket": "src", "destinationBucket": "arn:aws:s3:::reports",
            "creationTimestamp": "1764032400000", "fileFormat": format, "fileSchema": schema,
            "files": [],
        })
        .to_string()
    }

    #[test]
    fn a_side_is_found_where_s3_writes_the_report_and_its_hive_symlinks() {
        let side = Side::from_manifest(
            URL,
            &manifest("CSV", "Bucket, Key, VersionId, ETag, ReplicationStatus"),
        )
        .unwrap();
        assert_eq!(side.location, "s3://reports/inventory/src/all/hive/");
        assert_eq!(side.dt, "2026-12-01-01-05");
        let names: Vec<&str> = side.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["bucket", "key", "version_id", "e_tag", "replication_status"]
        );
        let parquet = Side::from_manifest(URL, &manifest("Parquet", "message s3.inventory { required binary key (UTF8); optional boolean is_delete_marker; optional int64 last_modified_date (TIMESTAMP_MILLIS); }")).unwrap();
        assert_eq!(
            parquet.columns[2],
            ("last_modified_date".into(), "timestamp".into())
        );
        let orc = Side::from_manifest(
            URL,
            &manifest("ORC", "struct<bucket:string,key:string,size:bigint>"),
        )
        .unwrap();
        assert_eq!(orc.format, Format::Orc);
        let ddl = orc.create_table("db").unwrap();
        assert!(
            ddl.contains("OrcSerde")
                && ddl.contains("`size` bigint")
                && ddl.contains("'projection.dt.type' = 'date'"),
            "{ddl}"
        );
        for (format, schema, url) in [
            ("JSON", "Bucket, Key", URL),
            ("CSV", "Bucket, Size", URL),
            (
                "CSV",
                "Bucket, Key",
                "s3://reports/inventory/src/all/latest/manifest.json",
            ),
            ("CSV", "Bucket, Key; DROP TABLE x", URL),
        ] {
            assert!(
                Side::from_manifest(url, &manifest(format, schema)).is_err(),
                "{format} {schema} {url}"
            );
        }
    }

    #[test]
    fn a_value_is_never_read_for_placeholders_again() {
        // A rule prefix holding `{{…}}` stays text inside its literal.
        let sql = fill(
            "rows",
            &[("classified", "SELECT '{{classified}} x{{now}}' AS k".into())],
        )
        .unwrap();
        assert!(
            sql.contains("SELECT '{{classified}} x{{now}}' AS k"),
            "{sql}"
        );
    }

    #[test]
    fn every_placeholder_is_filled_or_the_text_is_refused() {
        let side = Side::from_manifest(
            URL,
            &manifest(
                "CSV",
                "Bucket, Key, VersionId, IsDeleteMarker, LastModifiedDate, ReplicationStatus",
            ),
        )
        .unwrap();
        let mut destination = side.clone();
        destination.bucket = "dst".into();
        let plan = Plan {
            database: "db".into(),
            source: side,
            destination,
            rules: Rules::NotAsked,
            policy: VerdictPolicy {
                late_after: chrono::Duration::seconds(900),
                alarm_on_unreplicated: true,
            },
            redrive: Some("s3://reports/redrive/".into()),
        };
        for sql in [
            plan.counts_query().unwrap(),
            plan.rows_query().unwrap(),
            plan.redrive_query().unwrap().unwrap(),
        ] {
            assert!(!sql.contains("{{") && !sql.contains("-- "), "{sql}");
        }
        let unload = plan.redrive_query().unwrap().unwrap();
        assert!(
            unload.starts_with("UNLOAD")
                && unload.contains("TO 's3://reports/redrive/'")
                && unload.contains("'null'"),
            "{unload}"
        );
        assert!(
            matches!(fill("counts", &[]), Err(AthenaError::Input(m)) if m.contains("{{classified}}"))
        );
    }

    #[test]
    fn coverage_is_decided_by_the_longest_rule_prefix_a_key_starts_with() {
        let rule = |prefix: &str, to: &str, tags: bool, markers: bool| ReplicationRule {
            enabled: true,
            schema: RuleSchema::V2,
            prefix: prefix.into(),
            tags: if tags {
                vec![("team".into(), "a".into())]
            } else {
                Vec::new()
            },
            delete_marker_replication: Some(markers),
            destination_bucket: to.into(),
            ..ReplicationRule::default()
        };
        let rules = Rules::Read(Some(ReplicationRules {
            role_arn: "arn:aws:iam::1:role/r".into(),
            rules: vec![
                rule("logs/", "dst", false, true),
                rule("tagged/", "dst", true, false),
                rule("o'ther/", "elsewhere", false, true),
            ],
        }));
        let here = Destination::new("dst", None);
        assert_eq!(
            coverage_sql(&rules, &here, false),
            "CASE WHEN starts_with(s.key, 'o''ther/') THEN 'not_covered' WHEN starts_with(s.key, 'tagged/') THEN 'unknown' WHEN starts_with(s.key, 'logs/') THEN 'covered' ELSE 'not_covered' END"
        );
        assert!(coverage_sql(&rules, &here, true).contains("'tagged/') THEN 'excluded_by_tags'"));
        assert_eq!(
            coverage_sql(&Rules::Read(None), &here, false),
            "'no_configuration'"
        );
        assert_eq!(coverage_sql(&Rules::NotAsked, &here, true), "'unknown'");
    }

    #[test]
    fn counts_come_back_from_the_result_rows_and_cost_follows_athenas_price() {
        let text = |row: &[&str]| row.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rows = vec![
            text(&COUNT_COLUMNS),
            text(&["destination_only", "2", "0", "0", "0", "2", "0"]),
            text(&["missing", "3", "3", "3", "3", "0", "0"]),
            text(&["replicated", "5", "0", "0", "5", "5", "1"]),
        ];
        let counts = Counts::parse(&rows).unwrap();
        assert_eq!(
            (
                counts.source_rows,
                counts.destination_rows,
                counts.destination_only
            ),
            (8, 7, 2)
        );
        assert_eq!(
            (counts.alarming, counts.redrive, counts.verdicts["missing"]),
            (3, 3, 3)
        );
        assert!(Counts::parse(&rows[1..]).is_err());
        assert!(Counts::parse(&[
            text(&COUNT_COLUMNS),
            text(&["weird", "1", "0", "0", "1", "0", "0"])
        ])
        .is_err());
        // 10 MB minimum; then rounded up to the megabyte; $5 per TB.
        assert_eq!(cost_usd(0), cost_usd(MINIMUM_BYTES_PER_QUERY));
        assert!((cost_usd(MINIMUM_BYTES_PER_QUERY) - 0.00005).abs() < 1e-12);
        assert!((cost_usd(1_000_000_000_000) - 5.0).abs() < 1e-9);
        assert!((cost_usd(10_000_001) - 0.000055).abs() < 1e-12);
    }
}
