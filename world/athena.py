"""Amazon Athena in the local world: moto's Athena API (StartQueryExecution, GetQueryExecution,
GetQueryResults, workgroups) with queries that really run, in DuckDB, over the world's S3.

moto stores executions but runs nothing (every query SUCCEEDED, no rows, 0 bytes scanned). Here:
- `CREATE EXTERNAL TABLE` registers the table (columns, SerDe, LOCATION) as Glue would;
- a query (`SELECT`/`WITH`) runs in DuckDB over the data files of each table's `dt` partition, its
  rows become the GetQueryResults answer (header row first, as Athena answers a SELECT) and the
  result CSV is written to the output location; `Statistics.DataScannedInBytes` is the size of
  the data files read;
- `UNLOAD (query) TO 's3://…/' WITH (format = 'TEXTFILE', field_delimiter = ',')` writes the
  rows as a gzip text file there, and fails on a location that holds data, as Athena does;
- a query DuckDB cannot run, an output bucket that does not exist or a table Glue does not know
  ends FAILED with a `StateChangeReason`; a missing workgroup is moto's InvalidRequestException.

The partition's files come from `hive/dt=…/symlink.txt` when the report has one; the world's
reports (world/inventory.py) have none yet, so the manifest of the same timestamp names them
(`dt=2026-12-04-19-03` ↔ `2026-12-04T19-03Z/manifest.json`), as the symlink would.

`python -m world.athena` runs one query from stdin over local files (tests/athena.rs): the same
translation, without the world. The translation from Athena's SQL (Trino) to DuckDB's is small
and mechanical (docs/reconcile.md, "What DuckDB cannot prove about Athena"): each table is a view
over its files with its one `dt`; `url_decode` decodes `+` as a space as Trino's does (DuckDB's
does not); `from_iso8601_timestamp` is a macro casting to TIMESTAMPTZ.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
import tempfile

import duckdb

_CREATE = re.compile(
    r"^\s*CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s*\((.*?)\)\s*PARTITIONED\s+BY.*?"
    r"ROW\s+FORMAT\s+SERDE\s+'([^']+)'.*?LOCATION\s+'([^']+)'",
    re.IGNORECASE | re.DOTALL,
)
_UNLOAD = re.compile(r"^\s*UNLOAD\s*\((.*)\)\s*TO\s+'([^']+)'\s*WITH\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_SERDES = {"opencsvserde": "CSV", "parquethiveserde": "Parquet", "orcserde": "ORC"}


def run_query(sql: str, tables: list[dict]) -> tuple[list[str], list[tuple]]:
    """Runs `sql` in DuckDB; `tables`: {name, format, columns, dt, files (local paths)}."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute("CREATE MACRO trino_url_decode(x) AS url_decode(replace(x, '+', ' '))")
    db.execute("CREATE MACRO from_iso8601_timestamp(x) AS CAST(x AS TIMESTAMPTZ)")
    for table in tables:
        schema, _, _ = table["name"].partition(".")
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        files = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in table["files"]) + "]"
        dt = table["dt"].replace("'", "''")
        if table["format"] == "CSV":
            columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in table["columns"]) + "}"
            source = (
                f"read_csv({files}, header = false, auto_detect = false, delim = ',', columns = {columns}, "
                "quote = '\"', escape = '\"', compression = 'gzip')"
            )
        elif table["format"] == "Parquet":
            source = f"read_parquet({files})"
        else:
            raise ValueError(f"the world's Athena reads CSV and Parquet reports, not {table['format']}")
        if not table["files"]:
            source = "(SELECT " + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in table["columns"]) + " WHERE false)"
        db.execute(f"CREATE VIEW {table['name']} AS SELECT *, '{dt}' AS dt FROM {source}")
    cursor = db.execute(sql.replace("url_decode(", "trino_url_decode("))
    return [d[0] for d in cursor.description], cursor.fetchall()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


class _Failed(Exception):
    """A query Athena would end FAILED, with its reason."""


def _read(url: str) -> bytes:
    from .engine import _find_bucket

    bucket, key = _split_s3(url)
    backend, found = _find_bucket(bucket)
    if found is None:
        raise _Failed(f"HIVE_CANNOT_OPEN_SPLIT: bucket {bucket} does not exist")
    stored = found.keys.get(key)
    if stored is None:
        raise _Failed(f"HIVE_CANNOT_OPEN_SPLIT: s3://{bucket}/{key} does not exist")
    return stored.value


def _write(url: str, body: bytes) -> None:
    from .engine import _find_bucket

    bucket, key = _split_s3(url)
    backend, found = _find_bucket(bucket)
    if found is None:
        raise _Failed(f"Unable to verify/create output bucket {bucket}")
    backend.put_object(bucket, key, body, disable_notification=True)


def _partition_files(location: str, dt: str) -> list[str]:
    base = location.rstrip("/").removesuffix("/hive")
    try:
        return [line.strip() for line in _read(f"{base}/hive/dt={dt}/symlink.txt").decode().splitlines() if line.strip()]
    except _Failed:
        pass
    stamp = f"{dt[:10]}T{dt[11:]}Z"
    bucket, _ = _split_s3(base)
    manifest = json.loads(_read(f"{base}/{stamp}/manifest.json"))
    return [f"s3://{bucket}/{f['key']}" for f in manifest["files"]]


class WorldAthena:
    """The tables and what ran, per moto Athena backend (account and region)."""

    def __init__(self):
        self.tables: dict[str, dict] = {}

    def execute(self, execution) -> None:
        try:
            self._execute(execution)
        except _Failed as failure:
            execution.status = "FAILED"
            execution.world_reason = str(failure)
        except (duckdb.Error, ValueError, KeyError) as error:
            execution.status = "FAILED"
            execution.world_reason = f"GENERIC_INTERNAL_ERROR: {error}"

    def _execute(self, execution) -> None:
        query = execution.query
        created = _CREATE.match(query)
        if created:
            name, columns, serde, location = created.groups()
            names = [line.strip().split()[0].strip("`") for line in columns.split(",\n") if line.strip()]
            format_ = _SERDES.get(serde.rsplit(".", 1)[-1].lower())
            self.tables.setdefault(name.lower(), {"format": format_, "columns": names, "location": location})
            return
        unload = _UNLOAD.match(query)
        select = unload.group(1) if unload else query
        tables, scanned, workdir = [], 0, tempfile.mkdtemp(prefix="world-athena-")
        for name, table in self.tables.items():
            found = re.search(rf"FROM\s+{re.escape(name)}\s+WHERE\s+dt\s*=\s*'([^']+)'", select, re.IGNORECASE)
            if not found:
                continue
            files = []
            for index, url in enumerate(_partition_files(table["location"], found.group(1))):
                body = _read(url)
                scanned += len(body)
                path = os.path.join(workdir, f"{len(tables)}-{index}")
                with open(path, "wb") as out:
                    out.write(body)
                files.append(path)
            tables.append({"name": name, "format": table["format"], "columns": table["columns"], "dt": found.group(1), "files": files})
        mentioned = re.findall(r"FROM\s+([a-z0-9_]+\.[a-z0-9_]+)", select, re.IGNORECASE)
        unknown = [m for m in mentioned if m.lower() not in self.tables]
        if unknown:
            raise _Failed(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{unknown[0]}' does not exist")
        header, rows = run_query(select, tables)
        execution.world_scanned = scanned
        if unload:
            self._unload(execution, unload.group(2), unload.group(3), rows)
            return
        execution.world_results = (header, rows)
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[_text(v) or "" for v in row] for row in rows])
        output = (execution.config or {}).get("OutputLocation")
        if output:
            _write(output, text.getvalue().encode())

    def _unload(self, execution, location: str, properties: str, rows: list[tuple]) -> None:
        from .engine import _find_bucket

        bucket, prefix = _split_s3(location)
        backend, found = _find_bucket(bucket)
        if found is None:
            raise _Failed(f"Unable to verify/create output bucket {bucket}")
        if any(key.startswith(prefix) for key in found.keys.keys()):
            raise _Failed(f"HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: {location}")
        delimiter = re.search(r"field_delimiter\s*=\s*'(.)'", properties)
        delimiter = delimiter.group(1) if delimiter else "\x01"
        lines = "".join(delimiter.join(_text(v) or "" for v in row) + "\n" for row in rows)
        if rows:
            _write(f"{location.rstrip('/')}/{execution.id}_00000.gz", gzip.compress(lines.encode(), mtime=0))


def install() -> None:
    """Makes moto's Athena run what it is sent (once per process)."""
    from moto.athena.models import AthenaBackend, QueryResults
    from moto.athena.responses import AthenaResponse

    if getattr(AthenaBackend, "_world_installed", False):
        return
    AthenaBackend._world_installed = True
    start = AthenaBackend.start_query_execution

    def start_query_execution(self, query, context, config, workgroup, execution_parameters):
        exec_id = start(self, query, context, config, workgroup, execution_parameters)
        world = self.__dict__.setdefault("_world", WorldAthena())
        execution = self.executions[exec_id]
        world.execute(execution)
        results = getattr(execution, "world_results", None)
        if results is not None:
            header, rows = results
            cells = [[{"VarCharValue": name} for name in header]]
            cells += [[{} if _text(v) is None else {"VarCharValue": _text(v)} for v in row] for row in rows]
            columns = [
                {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n, "Type": "varchar"}
                for n in header
            ]
            self.query_results[exec_id] = QueryResults([{"Data": row} for row in cells], columns)
        return exec_id

    get = AthenaResponse.get_query_execution

    def get_query_execution(self):
        answer = json.loads(get(self))
        execution = self.athena_backend.executions[self._get_param("QueryExecutionId")]
        reason = getattr(execution, "world_reason", None)
        if reason:
            answer["QueryExecution"]["Status"]["StateChangeReason"] = reason
        answer["QueryExecution"]["Statistics"]["DataScannedInBytes"] = getattr(execution, "world_scanned", 0)
        return json.dumps(answer)

    AthenaBackend.start_query_execution = start_query_execution
    AthenaResponse.get_query_execution = get_query_execution


def main() -> None:
    """stdin: {"sql", "tables"} as `run_query` takes them; stdout: the rows as JSON lists."""
    request = json.load(sys.stdin)
    _, rows = run_query(request["sql"], request["tables"])
    json.dump([[v if isinstance(v, (bool, int, str)) or v is None else str(v) for v in row] for row in rows], sys.stdout)


if __name__ == "__main__":
    main()
