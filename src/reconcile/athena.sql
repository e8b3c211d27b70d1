-- `reconcile --engine athena`: the auditor's decision table for inventory rows, as SQL for
-- Amazon Athena (engine version 3, Trino dialect). Reviewed like code: every verdict below is a
-- row of src/audit/verdict.rs (`decide`) as src/reconcile/mod.rs feeds it inventory rows, and
-- tests/athena.rs runs this very text in DuckDB against the local join, row by row.
--
-- Sections start with `-- section: NAME`; src/reconcile/athena.rs fills the `{{placeholders}}`
-- (identifiers and literals it has validated or quoted) and refuses a text with one left over.

-- section: create_table
-- One side's report, as the S3 User Guide's "Querying Amazon S3 Inventory with Amazon Athena"
-- defines the table: the report's own columns, partitioned by `dt` over the `hive/` folder of
-- symlink.txt files S3 writes beside each report ("Locating your inventory list":
-- `hive/dt=YYYY-MM-DD-HH-MM/symlink.txt`). The SerDe and output format are the guide's for the
-- report's format: CSV (OpenCSVSerDe, which maps columns by position, in fileSchema order, and
-- reads every field as a string), Parquet and ORC (columns by name, typed as the guide types
-- them). Partition projection instead of MSCK REPAIR or ALTER TABLE ADD PARTITION: a new report
-- is queryable at once, nothing is written to the Glue catalog per report, and the query names
-- its `dt`, so Athena reads that report's files only. The interval is one minute (the guide's
-- example uses hours): a report's `dt` carries the minute S3 started it, and any minute must be
-- a projected value.
CREATE EXTERNAL TABLE IF NOT EXISTS {{table}} (
{{columns}}
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE {{serde}}
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT {{output_format}}
LOCATION {{location}}
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd-HH-mm',
  'projection.dt.range' = '2016-01-01-00-00,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'MINUTES'
)

-- section: classified
-- Every version of both reports, joined by (key, version id), with its verdict. Each side is
-- first put in one shape: the key decoded (CSV keys are URL-encoded, `+` for a space), the
-- null version as '', the delete-marker flag, the last-modified time and the raw status, by
-- expressions athena.rs writes for the report's format and columns.
WITH source AS (
  SELECT
    {{source_key}} AS key,
    {{source_version}} AS version_id,
    {{source_marker}} AS is_delete_marker,
    {{source_modified}} AS last_modified,
    {{source_status}} AS status
  FROM {{source_table}}
  WHERE dt = '{{source_dt}}'
),
destination AS (
  SELECT
    {{destination_key}} AS key,
    {{destination_version}} AS version_id,
    {{destination_marker}} AS is_delete_marker,
    {{destination_status}} AS status
  FROM {{destination_table}}
  WHERE dt = '{{destination_dt}}'
),
joined AS (
  SELECT
    s.key AS source_key,
    d.key AS destination_key,
    coalesce(s.key, d.key) AS key,
    coalesce(s.version_id, d.version_id) AS version_id,
    s.is_delete_marker AS source_marker,
    d.is_delete_marker AS destination_marker,
    -- ReplicationStatus::parse: trimmed, any case; '' is no status at all.
    upper(trim(s.status)) AS source_status,
    s.status = '' AS source_unreplicated,
    upper(trim(d.status)) = 'REPLICA' AS destination_replica,
    -- A delete marker's age counts from when it was written, an object's from LastModified;
    -- without a date nothing is late (`decide`: no age).
    coalesce(date_diff('millisecond', s.last_modified, {{now}}) > {{late_after_ms}}, false) AS late,
    -- Coverage by the source's replication rules, by the key's longest rule prefix
    -- (athena.rs evaluates `ReplicationRules::coverage` once per prefix): 'covered',
    -- 'excluded_by_tags', 'not_covered', 'no_configuration' or 'unknown'.
    {{object_coverage}} AS object_coverage,
    {{marker_coverage}} AS marker_coverage
  FROM source s
  FULL OUTER JOIN destination d ON s.key = d.key AND s.version_id = d.version_id
),
judged AS (
  SELECT
    key,
    version_id,
    source_key IS NOT NULL AS in_source,
    destination_key IS NOT NULL AS in_destination,
    source_key IS NOT NULL AND source_status = 'REPLICA' AS source_replica,
    object_coverage,
    CASE
      -- Row 1: the version is in the destination.
      WHEN source_key IS NOT NULL AND destination_key IS NOT NULL THEN 'replicated'
      -- A replica (or replicated delete marker) whose source version is gone: row 4.
      WHEN source_key IS NULL AND (destination_replica OR destination_marker) THEN 'source_gone'
      -- Written to the destination directly: no verdict, counted apart.
      WHEN source_key IS NULL THEN NULL
      -- Row 5: a delete marker no rule replicates here.
      WHEN source_marker AND marker_coverage IN ('not_covered', 'no_configuration') THEN 'source_gone'
      -- Row 6: a delete marker the rules replicate, not in the destination.
      WHEN source_marker AND late THEN 'late'
      WHEN source_marker THEN 'pending'
      -- Row 7: no replication status.
      WHEN source_unreplicated THEN 'unreplicated'
      -- Row 8: the source version is itself a replica.
      WHEN source_status = 'REPLICA' THEN 'replica'
      -- Row 11: PENDING within the SLA.
      WHEN source_status = 'PENDING' AND NOT late THEN 'pending'
      -- Row 13: FAILED and not in the destination.
      WHEN source_status = 'FAILED' THEN 'failed'
      -- Row 14: still PENDING after the SLA.
      WHEN source_status = 'PENDING' THEN 'late'
      -- Row 15: COMPLETED, and the destination has no such version.
      WHEN source_status IN ('COMPLETED', 'COMPLETE') THEN 'missing'
      -- Row 9: a status the auditor does not know.
      ELSE 'error'
    END AS verdict
  FROM joined
),
classified AS (
  SELECT
    key,
    version_id,
    in_source,
    in_destination,
    source_replica,
    verdict,
    -- `decide`'s alarm: an unreplicated version alarms when a rule covers it, never when a
    -- tag filter leaves it out on purpose, else as AUDITOR_ALARM_ON_UNREPLICATED says.
    coalesce(
      verdict IN ('late', 'failed', 'missing', 'error')
      OR (verdict = 'unreplicated' AND CASE
            WHEN object_coverage = 'covered' THEN true
            WHEN object_coverage = 'excluded_by_tags' THEN false
            ELSE {{alarm_on_unreplicated}}
          END),
      false
    ) AS alarming
  FROM judged
)

-- section: counts
-- The one query of a reconcile without a re-drive manifest: per verdict, how many versions,
-- how many alarm, how many S3 Batch Replication should re-drive, and the rows of each side
-- (a few rows: the result is all the machine that started it reads).
{{classified}}
SELECT
  coalesce(verdict, 'destination_only') AS verdict,
  count(*) AS versions,
  count_if(alarming) AS alarming,
  count_if(alarming AND verdict IN ('missing', 'failed', 'late', 'unreplicated')) AS redrive,
  count_if(in_source) AS source_rows,
  count_if(in_destination) AS destination_rows,
  count_if(source_replica) AS source_replicas
FROM classified
GROUP BY coalesce(verdict, 'destination_only')
ORDER BY 1

-- section: rows
-- Every version and its verdict (what tests/athena.rs compares with the local join).
{{classified}}
SELECT key, version_id, coalesce(verdict, 'destination_only') AS verdict, alarming
FROM classified
ORDER BY key, version_id

-- section: redrive
-- The re-drive manifest, written by Athena straight to S3: `bucket,key[,version]` per line,
-- keys URL-encoded (S3 Batch Operations: "The contents of the manifest must be URL encoded"),
-- `null` for the null version ("Converting empty version ID strings in Amazon S3 Inventory
-- reports to null strings"), no header, gzip text files (UNLOAD's TEXTFILE default), under an
-- empty prefix (UNLOAD refuses a location that holds data).
UNLOAD (
  {{classified}}
  SELECT {{redrive_columns}}
  FROM classified
  WHERE alarming AND verdict IN ('missing', 'failed', 'late', 'unreplicated')
)
TO {{redrive_location}}
WITH (format = 'TEXTFILE', field_delimiter = ',')
