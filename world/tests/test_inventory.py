"""S3 Inventory reports written by the world (`POST /_world/inventory`): the layout, manifest and
data files S3 writes (S3 user guide, "S3 Inventory"), in CSV.gz and Parquet, with versions, delete
markers and replication statuses."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from urllib.parse import unquote_plus

import pyarrow.parquet as pq

from world.accounts import SOURCE

from .test_world import make_pair, s3, unique

KEYS = ["plain.txt", "Screen Shot 1+1.png", "café/menü ☕.png"]


def _inventory(world, source, report, fmt="CSV", **extra):
    query = f"bucket={source}&destination={report}&format={fmt}&prefix=inv&seed=1"
    for name, value in extra.items():
        query += f"&{name}={value}"
    return world.control(f"/_world/inventory?{query}", "POST")


def _setup(world):
    source, destination = make_pair(world)
    a = s3(world, SOURCE)
    versions = {}
    for key in KEYS:
        versions[key] = [a.put_object(Bucket=source, Key=key, Body=b"one")["VersionId"]]
    versions["plain.txt"].append(a.put_object(Bucket=source, Key="plain.txt", Body=b"two!")["VersionId"])
    marker = a.delete_object(Bucket=source, Key="Screen Shot 1+1.png")["VersionId"]
    world.drain()
    report = unique("inventory-reports")
    a.create_bucket(Bucket=report)
    return source, destination, report, versions, marker


def _manifest(world, report, written):
    body = s3(world, SOURCE).get_object(Bucket=report, Key=written["manifest_key"])["Body"].read()
    return json.loads(body)


def test_csv_inventory_has_s3s_layout_manifest_and_encoding(world):
    source, _, report, versions, marker = _setup(world)
    written = _inventory(world, source, report, rows_per_file=2)
    assert re.fullmatch(rf"inv/{source}/all-versions/\d{{4}}-\d\d-\d\dT\d\d-\d\dZ/manifest.json", written["manifest_key"])
    manifest = _manifest(world, report, written)
    assert manifest["sourceBucket"] == source
    assert manifest["destinationBucket"] == f"arn:aws:s3:::{report}"
    assert manifest["fileFormat"] == "CSV"
    assert manifest["fileSchema"] == "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, ReplicationStatus"
    assert manifest["creationTimestamp"].isdigit() and manifest["version"] == "2016-11-30"
    assert len(manifest["files"]) == 3  # 5 rows, 2 per file
    a = s3(world, SOURCE)
    rows = []
    for entry in manifest["files"]:
        assert entry["key"].startswith(f"inv/{source}/all-versions/data/") and entry["key"].endswith(".csv.gz")
        body = a.get_object(Bucket=report, Key=entry["key"])["Body"].read()
        assert entry["size"] == len(body) and entry["MD5checksum"] == hashlib.md5(body).hexdigest()
        text = gzip.decompress(body).decode()
        assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines())
        rows += list(csv.reader(io.StringIO(text)))
    assert '"Screen+Shot+1%2B1.png"' in "".join(
        gzip.decompress(a.get_object(Bucket=report, Key=e["key"])["Body"].read()).decode() for e in manifest["files"]
    )
    by_version = {row[2]: row for row in rows}
    assert len(rows) == 5
    old, new = versions["plain.txt"]
    assert by_version[old][3:5] == ["false", "false"] and by_version[new][3:5] == ["true", "false"]
    assert by_version[new][8] == "COMPLETED" and by_version[new][5] == "4"
    marker_row = by_version[marker]
    assert unquote_plus(marker_row[1]) == "Screen Shot 1+1.png"
    assert marker_row[3:6] == ["true", "true", ""] and marker_row[7] == ""
    assert {unquote_plus(row[1]) for row in rows} == set(KEYS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0][6])


def test_parquet_inventory_names_columns_in_snake_case_and_keeps_keys_as_they_are(world):
    source, _, report, versions, marker = _setup(world)
    written = _inventory(world, source, report, fmt="Parquet")
    manifest = _manifest(world, report, written)
    assert manifest["fileFormat"] == "Parquet"
    assert manifest["fileSchema"].startswith("message s3.inventory { required binary bucket (UTF8); required binary key (UTF8);")
    [entry] = manifest["files"]
    body = s3(world, SOURCE).get_object(Bucket=report, Key=entry["key"])["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["bucket", "key", "version_id", "is_latest", "is_delete_marker", "size",
                                  "last_modified_date", "e_tag", "replication_status"]
    rows = table.to_pylist()
    assert {r["key"] for r in rows} == set(KEYS)
    [dm] = [r for r in rows if r["version_id"] == marker]
    assert dm["is_delete_marker"] and dm["size"] is None


def test_optional_fields_can_be_left_out_and_current_version_reports_have_no_version_columns(world):
    source, _, report, _, _ = _setup(world)
    written = _inventory(world, source, report, fields="ReplicationStatus", versions="current", config_id="current")
    manifest = _manifest(world, report, written)
    assert manifest["fileSchema"] == "Bucket, Key, ReplicationStatus"
    assert written["rows"] == 2  # the delete marker hides one key; one row per remaining key


def test_bad_requests_say_what_is_wrong(world):
    assert "format" in _inventory(world, "nope", "nope", fmt="ORC")["error"]
    source, _ = make_pair(world)
    assert "report bucket" in _inventory(world, source, unique("missing"))["error"]
