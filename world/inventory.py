"""S3 Inventory reports, written on request the way S3 writes them (S3 user guide, "S3 Inventory":
"Inventory list", "Inventory manifest", "Locating your inventory list").

`write_inventory` lists a bucket's object versions (or only current versions) as S3 Inventory does
and stores, in the report bucket:
  PREFIX/SOURCE/CONFIG-ID/data/UUID.csv.gz | .parquet       the data files (rows in no order)
  PREFIX/SOURCE/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json   sourceBucket, destinationBucket (ARN),
                                                            version, creationTimestamp (epoch ms),
                                                            fileFormat, fileSchema, files[]
  PREFIX/SOURCE/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.checksum   the manifest's MD5
CSV: gzip, no header row, every field quoted, keys URL-encoded with `+` for a space; columns in
`fileSchema` order. Parquet (snappy): the columns S3 names in snake case (`key`, `version_id`,
`is_latest`, …), keys as they are; `fileSchema` is the Parquet message type.

Only states real S3 can show: a delete marker has no size, ETag or storage class; the replication
status is what the engine set (PENDING, COMPLETED, FAILED, REPLICA) or empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import random
import time
import uuid
from urllib.parse import quote_plus

from moto.s3.models import FakeDeleteMarker, FakeKey

from .engine import STATUS_ATTRIBUTE, _find_bucket

# Columns of an all-versions report, in the order S3 lists them (optional fields after Key).
ALL_VERSIONS_FIELDS = [
    "Bucket",
    "Key",
    "VersionId",
    "IsLatest",
    "IsDeleteMarker",
    "Size",
    "LastModifiedDate",
    "ETag",
    "ReplicationStatus",
]
VERSION_FIELDS = ("VersionId", "IsLatest", "IsDeleteMarker")
REQUIRED_FIELDS = ("Bucket", "Key")
PARQUET_NAMES = {
    "Bucket": "bucket",
    "Key": "key",
    "VersionId": "version_id",
    "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker",
    "Size": "size",
    "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag",
    "ReplicationStatus": "replication_status",
}
FORMATS = ("CSV", "Parquet")


class InventoryError(ValueError):
    """A request the world cannot turn into an inventory; the message says which part."""


def _rows(bucket, versions: str, fields: list[str]) -> list[dict]:
    rows = []
    for name, stored in bucket.keys.iterlists():
        stored = [v for v in stored if isinstance(v, (FakeKey, FakeDeleteMarker))]
        if versions == "current":
            stored = [v for v in stored[-1:] if isinstance(v, FakeKey)]
        for position, version in enumerate(stored):
            marker = isinstance(version, FakeDeleteMarker)
            version_id = version.version_id if version.version_id not in (None, "null") else ""
            row = {
                "Bucket": bucket.name,
                "Key": name,
                "VersionId": version_id,
                "IsLatest": position == len(stored) - 1,
                "IsDeleteMarker": marker,
                "Size": None if marker else version.size,
                "LastModifiedDate": version.last_modified,
                "ETag": None if marker else version.etag.strip('"'),
                "ReplicationStatus": getattr(version, STATUS_ATTRIBUTE, None) or "",
            }
            rows.append({field: row[field] for field in fields})
    return rows


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _csv_value(field: str, value) -> str:
    if value is None:
        return ""
    if field == "Key":
        return quote_plus(value, safe="/")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return _iso(value)
    return str(value)


def _csv_file(rows: list[dict], fields: list[str]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        writer.writerow([_csv_value(field, row[field]) for field in fields])
    return gzip.compress(text.getvalue().encode("utf-8"), mtime=0)


def _parquet_schema(fields: list[str]):
    import pyarrow as pa

    types = {
        "IsLatest": pa.bool_(),
        "IsDeleteMarker": pa.bool_(),
        "Size": pa.int64(),
        "LastModifiedDate": pa.timestamp("ms", tz="UTC"),
    }
    return pa.schema([pa.field(PARQUET_NAMES[f], types.get(f, pa.string()), nullable=f not in REQUIRED_FIELDS) for f in fields])


def _parquet_file(rows: list[dict], fields: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for field in fields:
        values = [row[field] for row in rows]
        if field == "LastModifiedDate":
            values = [v if v is None or v.tzinfo else v.replace(tzinfo=dt.timezone.utc) for v in values]
        columns[PARQUET_NAMES[field]] = values
    table = pa.Table.from_pydict(columns, schema=_parquet_schema(fields))
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def _parquet_message(fields: list[str]) -> str:
    kinds = {
        "IsLatest": "boolean {name}",
        "IsDeleteMarker": "boolean {name}",
        "Size": "int64 {name}",
        "LastModifiedDate": "int64 {name} (TIMESTAMP_MILLIS)",
    }
    parts = []
    for field in fields:
        repetition = "required" if field in REQUIRED_FIELDS else "optional"
        kind = kinds.get(field, "binary {name} (UTF8)").format(name=PARQUET_NAMES[field])
        parts.append(f"{repetition} {kind};")
    return "message s3.inventory { " + " ".join(parts) + " }"


def write_inventory(
    source: str,
    destination: str,
    file_format: str = "CSV",
    prefix: str = "inventory",
    config_id: str = "all-versions",
    versions: str = "all",
    fields: list[str] | None = None,
    rows_per_file: int = 100_000,
    seed: int | None = None,
    now: float | None = None,
) -> dict:
    """Writes one inventory of `source` into `destination`; returns the manifest key and counts."""
    if file_format not in FORMATS:
        raise InventoryError(f"format must be one of {', '.join(FORMATS)}, got {file_format!r}")
    if versions not in ("all", "current"):
        raise InventoryError(f"versions must be all or current, got {versions!r}")
    if rows_per_file < 1:
        raise InventoryError("rows_per_file must be at least 1")
    _, source_bucket = _find_bucket(source)
    if source_bucket is None:
        raise InventoryError(f"no source bucket {source!r}")
    report_backend, report_bucket = _find_bucket(destination)
    if report_bucket is None:
        raise InventoryError(f"no report bucket {destination!r}; create it first")
    if fields is None:
        fields = list(ALL_VERSIONS_FIELDS)
    unknown = [f for f in fields if f not in ALL_VERSIONS_FIELDS]
    if unknown:
        raise InventoryError(f"unknown fields {unknown}; known: {', '.join(ALL_VERSIONS_FIELDS)}")
    if versions == "current":
        fields = [f for f in fields if f not in VERSION_FIELDS]
    # S3 always lists Bucket and Key (and, for all-versions reports, the version columns) first.
    order = [f for f in ALL_VERSIONS_FIELDS if f in fields or f in REQUIRED_FIELDS or (versions == "all" and f in VERSION_FIELDS)]
    fields = order

    rows = _rows(source_bucket, versions, fields)
    random.Random(seed).shuffle(rows)  # S3 promises no order
    base = f"{prefix.strip('/')}/{source}/{config_id}"
    files = []
    for start in range(0, max(len(rows), 1), rows_per_file):
        chunk = rows[start : start + rows_per_file]
        if file_format == "CSV":
            body, suffix = _csv_file(chunk, fields), "csv.gz"
        else:
            body, suffix = _parquet_file(chunk, fields), "parquet"
        key = f"{base}/data/{uuid.uuid4()}.{suffix}"
        report_backend.put_object(destination, key, body, disable_notification=True)
        files.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})

    created = now if now is not None else time.time()
    stamp = time.strftime("%Y-%m-%dT%H-%MZ", time.gmtime(created))
    schema = ", ".join(fields) if file_format == "CSV" else _parquet_message(fields)
    manifest = {
        "sourceBucket": source,
        "destinationBucket": f"arn:aws:s3:::{destination}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(created * 1000)),
        "fileFormat": file_format,
        "fileSchema": schema,
        "files": files,
    }
    manifest_body = json.dumps(manifest, indent=2).encode()
    manifest_key = f"{base}/{stamp}/manifest.json"
    report_backend.put_object(destination, manifest_key, manifest_body, disable_notification=True)
    checksum = hashlib.md5(manifest_body).hexdigest().encode()
    report_backend.put_object(destination, f"{base}/{stamp}/manifest.checksum", checksum, disable_notification=True)
    return {"manifest_key": manifest_key, "rows": len(rows), "files": [f["key"] for f in files], "fileSchema": schema}
