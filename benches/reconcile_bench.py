"""`make bench-reconcile`: `replication-auditor reconcile` against DuckDB on two S3 Inventory reports.

  generate   two all-versions CSV inventories (source bucket and its replica bucket), ROWS rows
             per side (default 10,000,000), laid out as `aws s3 sync s3://REPORT-BUCKET DIR`
             leaves them: DIR/inventory/BUCKET/CONFIG-ID/data/UUID.csv.gz and
             DIR/inventory/BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json (+ manifest.checksum).
             Rows in random order within and across files, 1-5 versions per key, delete markers,
             long unicode keys, and planted trouble whose count is known exactly: COMPLETED but
             absent in the destination (missing), FAILED, PENDING within / past the 15-minute SLA
             (pending / late), delete markers absent in the destination within / past the SLA
             (pending / late), no replication status (unreplicated), replicas whose source version
             is gone (source_gone) and objects written straight into the destination
             (destination-only). Fixed seed; cached under target/bench-reconcile/ by ROWS and
             GENERATOR_VERSION, so a second run skips it.
  ours       target/release/replication-auditor reconcile --offline --output json, a re-drive
             manifest and a spill directory under the bench directory; its defaults otherwise
             (memory budget 256 MiB, a worker per core, AUDITOR_* unset: 15-minute SLA).
  duckdb     the SQL a data engineer would write for the same question, in its own process: one
             in-memory DuckDB with its defaults (every core, memory limit 80% of RAM, spilling to
             .tmp in its working directory), read_csv of both sides with the columns of fileSchema,
             a full outer join on (key, version id) - on the key as the reports write it,
             URL-encoded: S3 encodes a key the same way in both reports, so nothing is decoded -,
             the auditor's decision table for --offline as a CASE, counts per verdict, and COPY of
             the re-drive rows (bucket,key,version) to a CSV.
  check      per-verdict counts and re-drive rows of both must equal each other and the planted
             truth (the re-drive rows also as sets of decoded (bucket, key, version)).
  report     wall time, rows/s, MB/s, CPU, peak RSS of each process (wait4 of that process alone,
             forked from a small launcher so the driver's own memory is not counted), and the CPU
             other processes took meanwhile (a 2-core machine shared with a build is not quiet);
             with --repeat N the runs alternate and the median is reported. Budgets: ours peak
             RSS <= 256 MiB and ours wall <= 1.0x DuckDB's. Exit 1 when a budget is missed or any
             count disagrees, 2 when a tool fails or the data cannot be made.

Usage: reconcile_bench.py [--rows N] [--repeat N] [--dir DIR] [--jobs N] [--regenerate] [--skip-duckdb]
"""

from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zlib
from array import array
from itertools import accumulate
from urllib.parse import quote_plus, unquote_plus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BINARY = os.path.join(TARGET, "release", "replication-auditor")
DEFAULT_DIR = os.path.join(TARGET, "bench-reconcile")

# Bump when the generated data changes in any way: the cache directory is keyed by it.
GENERATOR_VERSION = 2
SEED = 20261125
ROWS_PER_FILE = 1_500_000
GZIP_LEVEL = 6

REPORT_BUCKET = "acme-inventory-reports"
SOURCE_BUCKET = "acme-media-prod"
DESTINATION_BUCKET = "acme-media-prod-replica"
CONFIG_ID = "all-versions-daily"
FILE_SCHEMA = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, ReplicationStatus"
# When S3 took both inventories (the source's creationTimestamp is the auditor's "now").
CREATED = int(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.timezone.utc).timestamp())
LATE_AFTER = 900  # the auditor's default AUDITOR_LATE_AFTER_SECONDS

# Shares of source versions (object versions, never delete markers) planted with a problem.
SHARE_MISSING = 0.001  # COMPLETED in the source, absent in the destination
SHARE_FAILED = 0.0005  # FAILED, absent
SHARE_PENDING = 0.0002  # PENDING, absent; half written within the SLA, half before it
SHARE_UNREPLICATED = 0.0001  # no replication status (written before the rule), absent
# Delete markers (latest versions of deleted keys) absent in the destination; half written within
# the SLA, half before it. With --offline nothing says whether a rule replicates delete markers,
# so the auditor judges them by age like a PENDING version (docs/verdicts.md, row 6).
SHARE_MARKER_UNREPLICATED = 0.0001
SHARE_EXTRA = 0.0001  # destination rows with no source row: half replicas, half direct writes
VERSIONS = (1, 2, 3, 4, 5)
VERSION_WEIGHTS = (15, 20, 30, 20, 15)  # 3.0 versions per key on average
# The source's ReplicationStatus per planted kind (None: a healthy, replicated version).
SOURCE_STATUS = {None: "COMPLETED", "missing": "COMPLETED", "failed": "FAILED", "pending": "PENDING",
                 "late": "PENDING", "unreplicated": ""}
# The verdict each planted kind earns.
VERDICT_OF = {"missing": "missing", "failed": "failed", "pending": "pending", "late": "late",
              "unreplicated": "unreplicated", "marker_pending": "pending", "marker_late": "late"}
REDRIVE_VERDICTS = ("missing", "failed", "late", "unreplicated")
# Budgets (docs/reconcile-performance.md): ours at most DuckDB's wall time on the same data,
# within the default --memory-budget-kib (256 MiB) of peak RSS.
WALL_BUDGET_RATIO = 1.0
RSS_BUDGET_MIB = 256

# Pieces of keys, raw. Most path components are plain; about one in six is not (spaces, '+',
# '%', reserved characters, accents, other scripts, emoji). Each piece is URL-encoded once up
# front: percent-encoding is per byte, so the encoding of a concatenation is the concatenation of
# the encodings (checked before generating).
PLAIN_WORDS = [
    "photos", "raw", "exports", "2026", "2025", "11", "24", "backup", "tenant-0042", "invoices",
    "data-lake", "parquet", "landing", "year=2026", "month=11", "day=24", "hour=23", "part-00017",
    "snapshot", "logs", "app-server", "eu-west-1", "ingest", "cold_storage", "video", "thumbnails",
    "UPPER", "MiXeD", "dots.in.name", "under_score", "customer-7781", "orders", "events", "v2",
    "staging", "prod", "assets", "static", "img", "docs", "archive", "2024", "q4", "reports",
    "users", "uploads", "tmp", "cache", "build-1187", "release", "shard-07", "region-a", "batch",
    "output", "input", "models", "checkpoints", "scans", "media", "audio", "transcripts",
]
SPECIAL_WORDS = [
    "Q4 reports", "final (v2)", "Screen Shot", "1+1=2", "100% done", "a&b", "x=y", "~home",
    "*wildcard*", "it's", "[draft]", "{tmp}", "#tag", "@user", "$cash", "semi;colon", "comma,list",
    "café", "naïve", "Ünïcödé", "crème brûlée", "Ångström", "señal", "Straße", "łódź", "ελληνικά",
    "русский текст", "עברית", "العربية", "हिन्दी", "日本語のファイル", "写真", "資料 2026", "中文目录",
    "한국어", "ไทย", "emoji 🎉", "📷 camera", "🚀", "👩‍💻 dev", "🇫🇷", "tab\there", "quote\"d",
    "back\\slash", "pipe|bar", "caret^", "grave`", "lt<gt>", "question?", "colon:time",
    "percent%41", "plus+plus", "  two spaces", "data lake", "app server", "cold storage",
]
SEPARATORS = ["/"] * 6 + [" ", "-", "_", " + ", "."]
EXTENSIONS = [".jpg", ".png", ".mp4", ".csv.gz", ".parquet", ".json", ".pdf", ".txt", "", ".tar.zst"]


def _pieces() -> tuple[list[str], list[int], list[str], list[int]]:
    """256 path pieces (a word and a separator) and 256 file-name stems, by byte value."""
    rng = random.Random(SEED)
    pieces, stems = [], []
    for _ in range(256):
        word = rng.choice(SPECIAL_WORDS) if rng.random() < 0.16 else rng.choice(PLAIN_WORDS)
        pieces.append(word + rng.choice(SEPARATORS))
        stem = rng.choice(SPECIAL_WORDS) if rng.random() < 0.16 else rng.choice(PLAIN_WORDS)
        stems.append(stem)
    return ([quote_plus(p, safe="/") for p in pieces], [len(p) for p in pieces],
            [quote_plus(s, safe="/") for s in stems], [len(s) for s in stems])


PIECES, PIECE_LEN, STEMS, STEM_LEN = _pieces()
EXTENSIONS_ENCODED = [quote_plus(e, safe="/") for e in EXTENSIONS]
EXTENSION_LEN = [len(e) for e in EXTENSIONS]
VERSION_ID_CHARS = bytes.maketrans(b"-", b".")

# Set in the driver before the worker pool forks (shared copy-on-write).
PLAN: dict = {}
# Tools whose command line was printed already.
ANNOUNCED: set = set()


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def mix(value: int) -> int:
    """A 64-bit integer hash (splitmix64's finaliser): cheap per-key decisions."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def key_has_marker(key_index: int, versions: int) -> bool:
    """About 1 key in 16 with 2+ versions was deleted: its latest version is a delete marker."""
    return versions >= 2 and mix(key_index ^ SEED) % 16 == 0


def encoded_key(key_index: int, salt: bytes) -> tuple[str, int]:
    """The key of `key_index`, URL-encoded as S3 Inventory writes it, and its length in
    characters: about 80-250 (most near the short end), deep prefixes, a unique file name."""
    d = hashlib.blake2b(key_index.to_bytes(8, "little"), digest_size=64, key=salt).digest()
    target = 100 + (d[0] * d[1] * 150) // 65025  # 100..250
    ext = d[2] % len(EXTENSIONS)
    unique = f"_{key_index:x}"
    tail = STEM_LEN[d[3]] + len(unique) + EXTENSION_LEN[ext]
    body = d[4:]
    lengths = list(accumulate(map(PIECE_LEN.__getitem__, body)))
    count = bisect.bisect_right(lengths, target - tail)
    length = lengths[count - 1] + tail if count else tail
    return "".join(map(PIECES.__getitem__, body[:count])) + STEMS[d[3]] + unique + EXTENSIONS_ENCODED[ext], length


def _check_pieces() -> None:
    for key_index in (0, 1, 77, 123456):
        encoded, length = encoded_key(key_index, b"check")
        raw = unquote_plus(encoded)
        assert quote_plus(raw, safe="/") == encoded and len(raw) == length, (encoded, raw, length)


class Timestamps:
    """`2026-11-25T10:00:00.000Z` from epoch milliseconds, days cached."""

    def __init__(self):
        self.days: dict[int, str] = {}

    def __call__(self, millis: int) -> str:
        seconds, ms = divmod(millis, 1000)
        day, second = divmod(seconds, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
            self.days[day] = prefix
        hour, rest = divmod(second, 3600)
        minute, second = divmod(rest, 60)
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def write_data_file(task: tuple) -> dict:
    """One data file of one side: rows chosen by an affine permutation of the row space (which
    scatters a key's versions across files), then shuffled within the file."""
    side, index, lo, hi, path = task
    plan = PLAN
    starts = plan["starts"]
    keys = len(starts) - 1
    rows = plan["rows"]
    planted = plan["planted"]  # row -> kind
    extra_kinds = plan["extra_kinds"]
    key_salt = plan["key_salt"]
    row_salt = plan["row_salt"]
    if side == "source":
        space, a, b = rows, plan["source_a"], plan["source_b"]
        bucket = SOURCE_BUCKET
    else:
        space, a, b = rows + len(extra_kinds), plan["destination_a"], plan["destination_b"]
        bucket = DESTINATION_BUCKET
    order = [(a * p + b) % space for p in range(lo, hi)]
    random.Random(f"{SEED}-{side}-{index}").shuffle(order)
    stamp = Timestamps()
    quoted_bucket = f'"{bucket}","'
    md5 = hashlib.md5()
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    written = uncompressed = compressed = markers = key_chars = 0
    redrive = []
    counts: dict[str, int] = {}
    with open(path, "wb") as out:

        def emit(data: bytes):
            nonlocal compressed
            if data:
                md5.update(data)
                out.write(data)
                compressed += len(data)

        batch = []
        for row in order:
            if row >= rows:  # destination only
                kind = extra_kinds[row - rows]
                key_index = keys + (row - rows)
                versions, version = 1, 0
            else:
                kind = planted.get(row)
                if side == "destination" and kind is not None:
                    continue  # planted trouble: the version never reached the destination
                key_index = bisect.bisect_right(starts, row) - 1
                first = starts[key_index]
                versions = starts[key_index + 1] - first
                version = row - first
            key, raw_len = encoded_key(key_index, key_salt)
            key_chars += raw_len
            d = hashlib.blake2b(row.to_bytes(8, "little"), digest_size=48, key=row_salt).digest()
            version_id = base64.urlsafe_b64encode(d[:24]).translate(VERSION_ID_CHARS).decode()
            k = mix(key_index ^ SEED)
            base = CREATED * 1000 - (2 * 86400 + (k >> 8) % (700 * 86400)) * 1000 + d[24] * 4
            gap = (3600 + (k >> 40) % 18000) * 1000
            modified = base + version * gap + d[25]
            latest = version == versions - 1
            marker = latest and row < rows and key_has_marker(key_index, versions)
            if side == "destination" and row < rows and not latest:
                # The destination's latest is the newest version that reached it.
                first = row - version
                latest = all(planted.get(first + later) is not None for later in range(version + 1, versions))
            if kind in ("pending", "marker_pending"):
                modified = CREATED * 1000 - (60 + d[26] * 3) * 1000 - d[27]  # 1-14 min before
            elif kind in ("late", "marker_late"):
                modified = CREATED * 1000 - (960 + d[26] * 24) * 1000 - d[27]  # 16 min-2 h before
            if marker:
                size = etag = status = ""
                markers += 1
            else:
                size = str(int.from_bytes(d[28:34], "little") >> (6 + d[34] % 42))  # 0 B-4 TB
                etag = d[35:48].hex() + d[24:27].hex()[:6]
                if d[29] < 20:
                    etag += f"-{1 + d[30] % 64}"  # multipart upload
                if side == "destination":
                    status = "REPLICA" if kind != "direct" else ""
                else:
                    status = SOURCE_STATUS[kind]
            if side == "destination" and row < rows:
                modified += 1000 + d[31] * 20  # replicas are written a little later
            batch.append(
                f'{quoted_bucket}{key}","{version_id}","{"true" if latest else "false"}",'
                f'"{"true" if marker else "false"}","{size}","{stamp(modified)}","{etag}","{status}"\n'
            )
            written += 1
            label = kind or "ok"
            counts[label] = counts.get(label, 0) + 1
            if side == "source" and kind is not None and VERDICT_OF[kind] in REDRIVE_VERDICTS:
                redrive.append((bucket, key, version_id))
            if len(batch) == 20000:
                data = "".join(batch).encode()
                uncompressed += len(data)
                emit(compressor.compress(data))
                batch = []
        if batch:
            data = "".join(batch).encode()
            uncompressed += len(data)
            emit(compressor.compress(data))
        emit(compressor.flush())
    return {
        "side": side, "index": index, "path": path, "rows": written, "uncompressed": uncompressed,
        "size": compressed, "md5": md5.hexdigest(), "markers": markers, "counts": counts,
        "redrive": redrive, "key_chars": key_chars,
    }


def coprime_multiplier(rng: random.Random, space: int) -> int:
    while True:
        a = rng.randrange(space // 3 + 1, max(space, 2) * 7919)
        if math.gcd(a, space) == 1:
            return a


def generate(rows: int, root: str, jobs: int) -> dict:
    """Writes both inventories under `root` (the report bucket's sync root); returns the truth."""
    _check_pieces()
    rng = random.Random(SEED)
    started = time.perf_counter()
    # Keys and their versions: starts[k] is the first row of key k; rows are numbered 0..rows-1.
    starts = array("q", [0])
    total = 0
    while total < rows:
        for n in rng.choices(VERSIONS, VERSION_WEIGHTS, k=min(100_000, rows)):
            total = min(rows, total + n)
            starts.append(total)
            if total >= rows:
                break
    keys = len(starts) - 1

    def is_marker(row: int) -> bool:
        k = bisect.bisect_right(starts, row) - 1
        n = starts[k + 1] - starts[k]
        return row == starts[k + 1] - 1 and key_has_marker(k, n)

    # Planted trouble: PENDING among latest object versions (they are the recent ones), delete
    # markers among the latest versions of deleted keys, the rest among any object versions.
    planted: dict[int, str] = {}
    pending = round(rows * SHARE_PENDING)
    markers = round(rows * SHARE_MARKER_UNREPLICATED)
    wanted = [  # (kind, count, among latest versions, a delete marker)
        ("pending", pending - pending // 2, True, False),
        ("late", pending // 2, True, False),
        ("marker_pending", markers - markers // 2, True, True),
        ("marker_late", markers // 2, True, True),
        ("missing", round(rows * SHARE_MISSING), False, False),
        ("failed", round(rows * SHARE_FAILED), False, False),
        ("unreplicated", round(rows * SHARE_UNREPLICATED), False, False),
    ]
    for kind, count, latest_only, marker in wanted:
        placed = attempts = 0
        while placed < count:
            attempts += 1
            if attempts > 1000 * count + 100_000:
                fail(f"cannot plant {count} {kind} rows among {rows} rows: use more rows")
            if latest_only:
                k = rng.randrange(keys)
                row = starts[k + 1] - 1
            else:
                row = rng.randrange(rows)
            if row in planted or is_marker(row) != marker:
                continue
            planted[row] = kind
            placed += 1
    extras = max(2, round(rows * SHARE_EXTRA))
    extra_kinds = ["orphan" if i % 2 == 0 else "direct" for i in range(extras)]

    PLAN.clear()
    PLAN.update(
        starts=starts, rows=rows, planted=planted, extra_kinds=extra_kinds,
        key_salt=hashlib.sha256(f"{SEED}-key".encode()).digest()[:32],
        row_salt=hashlib.sha256(f"{SEED}-row".encode()).digest()[:32],
        source_a=coprime_multiplier(rng, rows), source_b=rng.randrange(rows),
        destination_a=coprime_multiplier(rng, rows + extras), destination_b=rng.randrange(rows + extras),
    )
    tasks = []
    files_of = {}
    for side, bucket, space in (("source", SOURCE_BUCKET, rows), ("destination", DESTINATION_BUCKET, rows + extras)):
        count = max(1, math.ceil(space / ROWS_PER_FILE))
        per_file = math.ceil(space / count)
        data_dir = os.path.join(root, "inventory", bucket, CONFIG_ID, "data")
        os.makedirs(data_dir, exist_ok=True)
        files_of[side] = []
        for index in range(count):
            name = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            path = os.path.join(data_dir, f"{name}.csv.gz")
            lo, hi = index * per_file, min(space, (index + 1) * per_file)
            tasks.append((side, index, lo, hi, path))
    context = multiprocessing.get_context("fork")
    results = []
    with context.Pool(processes=jobs) as pool:
        for result in pool.imap_unordered(write_data_file, tasks):
            results.append(result)
            print(
                f"  {result['side']:<11} file {result['index'] + 1}: {result['rows']:,} rows, "
                f"{result['size'] / 1e6:.0f} MB gzip ({result['uncompressed'] / 1e6:.0f} MB CSV), "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    results.sort(key=lambda r: (r["side"], r["index"]))

    manifests = {}
    stamp = time.strftime("%Y-%m-%dT%H-%MZ", time.gmtime(CREATED))
    for side, bucket in (("source", SOURCE_BUCKET), ("destination", DESTINATION_BUCKET)):
        mine = [r for r in results if r["side"] == side]
        manifest = {
            "sourceBucket": bucket,
            "destinationBucket": f"arn:aws:s3:::{REPORT_BUCKET}",
            "version": "2016-11-30",
            "creationTimestamp": str(CREATED * 1000),
            "fileFormat": "CSV",
            "fileSchema": FILE_SCHEMA,
            "files": [
                {"key": os.path.relpath(r["path"], root), "size": r["size"], "MD5checksum": r["md5"]}
                for r in mine
            ],
        }
        directory = os.path.join(root, "inventory", bucket, CONFIG_ID, stamp)
        os.makedirs(directory, exist_ok=True)
        body = json.dumps(manifest, indent=2).encode()
        with open(os.path.join(directory, "manifest.json"), "wb") as handle:
            handle.write(body)
        with open(os.path.join(directory, "manifest.checksum"), "wb") as handle:
            handle.write(hashlib.md5(body).hexdigest().encode())
        manifests[side] = os.path.relpath(os.path.join(directory, "manifest.json"), root)

    def total_of(side: str, field: str) -> int:
        return sum(r[field] for r in results if r["side"] == side)

    def planted_count(verdict: str) -> int:
        return sum(n for r in results if r["side"] == "source" for kind, n in r["counts"].items()
                   if VERDICT_OF.get(kind) == verdict)

    absent = len(planted)
    written_destination = sum(r["counts"].get(k, 0) for r in results if r["side"] == "destination" for k in ("ok", "orphan", "direct"))
    verdicts = {
        "replicated": rows - absent,
        "pending": planted_count("pending"),
        "late": planted_count("late"),
        "failed": planted_count("failed"),
        "missing": planted_count("missing"),
        "mismatch": 0,
        "unreplicated": planted_count("unreplicated"),
        "replica": 0,
        "source_gone": extra_kinds.count("orphan"),
        "error": 0,
    }
    # What the generator planted is what it wrote.
    assert total_of("source", "rows") == rows, (total_of("source", "rows"), rows)
    assert written_destination == total_of("destination", "rows") == rows - absent + extras
    for kind, count, *_ in wanted:
        written = sum(r["counts"].get(kind, 0) for r in results if r["side"] == "source")
        assert written == count, (kind, written, count)
    redrive = sorted(t for r in results for t in r["redrive"])
    seconds = time.perf_counter() - started
    truth = {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "rows_per_side": rows,
        "keys": keys,
        "rows": {"source": rows, "destination": rows - absent + extras, "destination_only": extra_kinds.count("direct")},
        "verdicts": verdicts,
        "planted": {kind: count for kind, count, *_ in wanted} | {"source_gone": extra_kinds.count("orphan"),
                                                                  "destination_only": extra_kinds.count("direct")},
        "redrive_objects": len(redrive),
        "delete_markers": {side: total_of(side, "markers") for side in ("source", "destination")},
        "bytes": {
            side: {"compressed": total_of(side, "size"), "uncompressed": total_of(side, "uncompressed"),
                   "files": sum(1 for r in results if r["side"] == side)}
            for side in ("source", "destination")
        },
        "average_key_chars": round(total_of("source", "key_chars") / max(rows, 1), 1),
        "manifests": manifests,
        "created": CREATED,
        "generation_seconds": round(seconds, 1),
        "jobs": jobs,
        "gzip_level": GZIP_LEVEL,
    }
    with open(os.path.join(root, "..", "redrive-truth.csv"), "w", encoding="utf-8") as handle:
        handle.writelines(f"{b},{k},{v}\n" for b, k, v in redrive)
    return truth


def ensure_data(rows: int, base: str, jobs: int, regenerate: bool) -> tuple[str, dict]:
    """The cached data set for `rows`, generated when absent. Returns (cache dir, truth)."""
    cache = os.path.join(base, f"rows-{rows}-gen{GENERATOR_VERSION}-seed{SEED}")
    truth_path = os.path.join(cache, "truth.json")
    if os.path.exists(truth_path) and not regenerate:
        with open(truth_path, encoding="utf-8") as handle:
            truth = json.load(handle)
        print(f"data: cached in {cache} (generated in {truth['generation_seconds']} s with {truth['jobs']} jobs; --regenerate to redo)")
        return cache, truth
    if os.path.exists(cache):
        shutil.rmtree(cache)
    os.makedirs(base, exist_ok=True)
    # ~330 bytes of CSV per row per side, gzip ~1/4 of that; the spill of ours ~ the CSV.
    need = rows * 2 * (90 + 330)
    free = shutil.disk_usage(base).free
    print(f"data: generating {rows:,} rows per side into {cache} ({jobs} jobs, gzip -{GZIP_LEVEL}); "
          f"~{need / 1e9:.1f} GB needed with the spill, {free / 1e9:.1f} GB free", flush=True)
    if free < need:
        fail(f"not enough disk under {base}: ~{need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free")
    partial = cache + f".partial-{os.getpid()}"
    if os.path.exists(partial):
        shutil.rmtree(partial)
    os.makedirs(os.path.join(partial, "report-bucket"))
    truth = generate(rows, os.path.join(partial, "report-bucket"), jobs)
    with open(os.path.join(partial, "truth.json"), "w", encoding="utf-8") as handle:
        json.dump(truth, handle, indent=2)
    os.rename(partial, cache)
    print(f"data: generated in {truth['generation_seconds']} s", flush=True)
    return cache, truth


# ---------------------------------------------------------------------------------------------
# Measuring one process
# ---------------------------------------------------------------------------------------------

# Forks the measured program from a fresh, small interpreter and reports wait4's rusage of that
# child alone. (Spawned straight from the driver, the child's ru_maxrss would start from the
# driver's own high-water mark: Linux carries the pre-exec memory's peak over the exec.)
LAUNCHER = r"""
import json, os, sys, time
spec = json.loads(sys.argv[1])
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.chdir(spec["cwd"])
        out = os.open(spec["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.execv(spec["argv"][0], spec["argv"])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
print(json.dumps({"wall": wall, "exit": os.waitstatus_to_exitcode(status), "peak_rss_kib": usage.ru_maxrss,
                  "user": usage.ru_utime, "system": usage.ru_stime}))
"""


def directory_bytes(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass
    return total


def measure(argv: list[str], cwd: str, stdout: str, stderr: str, env: dict, watch_dir: str | None = None) -> dict:
    """Runs `argv` once: wall, CPU and peak RSS of that process (wait4), and the peak size of
    `watch_dir` (spill / temp files), sampled every second."""
    peak_disk = [0]
    done = threading.Event()

    def watch():
        while not done.wait(1.0):
            peak_disk[0] = max(peak_disk[0], directory_bytes(watch_dir))

    watcher = threading.Thread(target=watch, daemon=True) if watch_dir else None
    if watcher:
        watcher.start()
    spec = {"argv": argv, "cwd": cwd, "stdout": stdout, "stderr": stderr}
    before = machine_cpu()
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(spec)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False,
    )
    done.set()
    if watcher:
        watcher.join()
    if launched.returncode != 0:
        fail(f"the launcher failed: {launched.stderr.strip()}")
    result = json.loads(launched.stdout)
    after = machine_cpu()
    result["peak_disk"] = peak_disk[0]
    # CPU the rest of the machine used meanwhile (and time the hypervisor gave to others):
    # the measure of how quiet the machine was.
    result["others_cpu"] = max(0.0, after[0] - before[0] - result["user"] - result["system"])
    result["steal"] = after[1] - before[1]
    return result


def machine_cpu() -> tuple[float, float]:
    """Busy CPU seconds of the whole machine since boot (all CPUs), and steal seconds."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / tick, steal / tick


def fail(message: str) -> None:
    """A tool or the setup failed: no measurement to report (exit 2)."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


def clean_env() -> dict:
    """The environment without AUDITOR_* (the auditor's defaults: 15-minute SLA, unreplicated
    alarming) and without AWS_* (nothing here talks to AWS)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "AWS_"))}


# ---------------------------------------------------------------------------------------------
# Ours
# ---------------------------------------------------------------------------------------------


def run_ours(cache: str, truth: dict, run_dir: str) -> dict:
    root = os.path.join(cache, "report-bucket")
    spill = os.path.join(run_dir, "spill-ours")
    shutil.rmtree(spill, ignore_errors=True)
    os.makedirs(spill)
    redrive = os.path.join(run_dir, "redrive-ours.csv")
    stdout, stderr = os.path.join(run_dir, "ours.json"), os.path.join(run_dir, "ours.stderr")
    argv = [
        BINARY, "reconcile",
        "--source-manifest", os.path.join(root, truth["manifests"]["source"]),
        "--destination-manifest", os.path.join(root, truth["manifests"]["destination"]),
        "--redrive-manifest", redrive,
        "--spill-dir", spill,
        "--offline", "--output", "json",
    ]
    if "ours" not in ANNOUNCED:
        ANNOUNCED.add("ours")
        print("ours: " + " ".join(argv), flush=True)
    result = measure(argv, run_dir, stdout, stderr, clean_env(), watch_dir=spill)
    shutil.rmtree(spill, ignore_errors=True)
    if result["exit"] not in (0, 1):
        with open(stderr, encoding="utf-8", errors="replace") as handle:
            tail = handle.read()[-2000:]
        fail(f"ours exited {result['exit']} (2 = error):\n{tail}")
    with open(stdout, encoding="utf-8") as handle:
        outcome = json.load(handle)
    result.update(
        counts=dict(outcome["counts"]),
        rows=outcome["rows"],
        redrive_objects=(outcome.get("redrive") or {}).get("objects"),
        redrive_path=redrive,
        join=outcome.get("join"),
        rules=outcome.get("rules"),
        alarming=outcome.get("alarming"),
    )
    result["counts"]["destination_only"] = outcome["rows"]["destination_only"]
    return result


# ---------------------------------------------------------------------------------------------
# DuckDB
# ---------------------------------------------------------------------------------------------

COLUMN_TYPES = {
    "bucket": "VARCHAR", "key": "VARCHAR", "version_id": "VARCHAR", "is_latest": "BOOLEAN",
    "is_delete_marker": "BOOLEAN", "size": "BIGINT", "last_modified_date": "TIMESTAMP",
    "e_tag": "VARCHAR", "replication_status": "VARCHAR",
}
SCHEMA_NAMES = {
    "Bucket": "bucket", "Key": "key", "VersionId": "version_id", "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker", "Size": "size", "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag", "ReplicationStatus": "replication_status",
}


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_child(spec: dict) -> int:
    """The DuckDB side, in its own process: what a data engineer would write."""
    import duckdb

    def inventory(manifest_path: str) -> tuple[str, dict]:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        root = spec["root"]
        files = "[" + ", ".join(sql_string(os.path.join(root, f["key"])) for f in manifest["files"]) + "]"
        columns = "{" + ", ".join(
            f"{sql_string(SCHEMA_NAMES[name.strip()])}: {sql_string(COLUMN_TYPES[SCHEMA_NAMES[name.strip()]])}"
            for name in manifest["fileSchema"].split(",")
        ) + "}"
        # No header, every field quoted, gzip; "" is NULL (allow_quoted_nulls, the default).
        scan = (
            f"read_csv({files}, header = false, compression = 'gzip', delim = ',', quote = '\"', "
            f"escape = '\"', columns = {columns}, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')"
        )
        return scan, manifest

    source_scan, source_manifest = inventory(spec["source_manifest"])
    destination_scan, _ = inventory(spec["destination_manifest"])
    now = dt.datetime.fromtimestamp(int(source_manifest["creationTimestamp"]) / 1000, dt.timezone.utc)
    now_sql = f"TIMESTAMP '{now.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    con = duckdb.connect()  # in memory, every default (threads = cores, memory_limit = 80% of RAM)
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', 'temp_directory')"
    ).fetchall())
    redrive_list = ", ".join(sql_string(v) for v in REDRIVE_VERDICTS)
    # Joined on the key as the reports write it (URL-encoded): S3 encodes every key the same
    # way in both reports, so equal keys have equal encodings and there is nothing to decode.
    # The CASE is the auditor's decision table for --offline (coverage unknown), in its order.
    started = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE verdicts AS
        WITH src AS (SELECT * FROM {source_scan}),
             dst AS (SELECT * FROM {destination_scan}),
             joined AS (
                SELECT s.bucket, s.key, s.version_id,
                       s.key IS NOT NULL AS in_source, d.key IS NOT NULL AS in_destination,
                       s.is_delete_marker AS source_marker, s.replication_status AS status,
                       {now_sql} - s.last_modified_date > INTERVAL {LATE_AFTER} SECOND AS past_sla,
                       d.replication_status = 'REPLICA' OR d.is_delete_marker AS destination_replica
                FROM src s FULL OUTER JOIN dst d
                  ON s.key = d.key AND s.version_id IS NOT DISTINCT FROM d.version_id
             ),
             judged AS (
                SELECT *, CASE
                    WHEN NOT in_source AND destination_replica THEN 'source_gone'
                    WHEN NOT in_source THEN 'destination_only'
                    WHEN in_destination THEN 'replicated'
                    WHEN source_marker AND coalesce(past_sla, false) THEN 'late'
                    WHEN source_marker THEN 'pending'
                    WHEN status IS NULL THEN 'unreplicated'
                    WHEN upper(status) = 'REPLICA' THEN 'replica'
                    WHEN upper(status) NOT IN ('COMPLETED', 'COMPLETE', 'PENDING', 'FAILED') THEN 'error'
                    WHEN upper(status) = 'PENDING' AND NOT coalesce(past_sla, false) THEN 'pending'
                    WHEN upper(status) = 'FAILED' THEN 'failed'
                    WHEN upper(status) = 'PENDING' THEN 'late'
                    ELSE 'missing'
                END AS verdict
                FROM joined
             )
        SELECT verdict,
               CASE WHEN verdict IN ({redrive_list}) THEN bucket END AS bucket,
               CASE WHEN verdict IN ({redrive_list}) THEN key END AS key,
               CASE WHEN verdict IN ({redrive_list}) THEN version_id END AS version_id
        FROM judged
    """)
    counts = dict(con.execute("SELECT verdict, count(*) FROM verdicts GROUP BY verdict").fetchall())
    con.execute(
        f"COPY (SELECT bucket, key, version_id FROM verdicts WHERE verdict IN ({redrive_list})) "
        f"TO {sql_string(spec['redrive'])} (FORMAT csv, HEADER false)"
    )
    redrive = con.execute(f"SELECT count(*) FROM verdicts WHERE verdict IN ({redrive_list})").fetchone()[0]
    json.dump(
        {"counts": counts, "redrive_objects": redrive, "settings": settings, "version": duckdb.__version__,
         "query_seconds": time.perf_counter() - started},
        sys.stdout,
    )
    return 0


def run_duckdb(cache: str, truth: dict, run_dir: str) -> dict:
    root = os.path.join(cache, "report-bucket")
    work = os.path.join(run_dir, "duckdb-work")  # its temp directory (.tmp) lands here if it spills
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    redrive = os.path.join(run_dir, "redrive-duckdb.csv")
    spec = {
        "root": root,
        "source_manifest": os.path.join(root, truth["manifests"]["source"]),
        "destination_manifest": os.path.join(root, truth["manifests"]["destination"]),
        "redrive": redrive,
    }
    argv = [sys.executable, os.path.abspath(__file__), "--duckdb-child", json.dumps(spec)]
    if "duckdb" not in ANNOUNCED:
        ANNOUNCED.add("duckdb")
        print("duckdb: the same join and decision table in SQL, in its own process", flush=True)
    stdout, stderr = os.path.join(run_dir, "duckdb.json"), os.path.join(run_dir, "duckdb.stderr")
    result = measure(argv, work, stdout, stderr, clean_env(), watch_dir=work)
    shutil.rmtree(work, ignore_errors=True)
    if result["exit"] != 0:
        with open(stderr, encoding="utf-8", errors="replace") as handle:
            tail = handle.read()[-2000:]
        fail(f"duckdb exited {result['exit']}:\n{tail}")
    with open(stdout, encoding="utf-8") as handle:
        outcome = json.load(handle)
    result.update(outcome)
    result["redrive_path"] = redrive
    return result


# ---------------------------------------------------------------------------------------------
# Cross-check and report
# ---------------------------------------------------------------------------------------------


def redrive_set(path: str) -> set:
    """(bucket, decoded key, version) of every line of a re-drive CSV."""
    rows = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            bucket, key, version = line.rstrip("\n").split(",")
            rows.add((bucket, unquote_plus(key), version))
    return rows


def cross_check(truth: dict, results: dict, cache: str, files: bool = True) -> list[str]:
    problems = []
    expected = dict(truth["verdicts"])
    expected["destination_only"] = truth["rows"]["destination_only"]
    names = list(expected)
    for tool in results.values():
        names += [n for n in tool["counts"] if n not in names]
    for name in names:
        want = expected.get(name, 0)
        got = {tool: r["counts"].get(name, 0) for tool, r in results.items()}
        if any(v != want for v in got.values()):
            problems.append(f"{name}: planted {want:,}, " + ", ".join(f"{t} {v:,}" for t, v in got.items()))
    want = truth["redrive_objects"]
    got = {tool: r["redrive_objects"] for tool, r in results.items()}
    if any(v != want for v in got.values()):
        problems.append(f"re-drive rows: planted {want:,}, " + ", ".join(f"{t} {v:,}" for t, v in got.items()))
    if "ours" in results:
        rows = results["ours"]["rows"]
        for side in ("source", "destination"):
            if rows[side] != truth["rows"][side]:
                problems.append(f"{side} rows read: generated {truth['rows'][side]:,}, ours {rows[side]:,}")
    planted = redrive_set(os.path.join(cache, "redrive-truth.csv"))
    for tool, r in results.items() if files else ():
        found = redrive_set(r["redrive_path"])
        if found != planted:
            problems.append(
                f"re-drive manifest of {tool}: {len(found - planted):,} rows not planted, "
                f"{len(planted - found):,} planted rows absent (compared as decoded bucket,key,version)"
            )
    return problems


def mib(kib: int) -> float:
    return kib / 1024


def report(truth: dict, results: dict, problems: list[str], cache: str, rows: int) -> int:
    compressed = sum(truth["bytes"][s]["compressed"] for s in ("source", "destination"))
    uncompressed = sum(truth["bytes"][s]["uncompressed"] for s in ("source", "destination"))
    both = truth["rows"]["source"] + truth["rows"]["destination"]
    print()
    print(f"S3 Inventory reconcile, {rows:,} source rows + {truth['rows']['destination']:,} destination rows "
          f"({truth['keys']:,} keys, {truth['average_key_chars']} characters per key on average), "
          f"{truth['bytes']['source']['files']}+{truth['bytes']['destination']['files']} gzip CSV files: "
          f"{compressed / 1e6:,.0f} MB compressed, {uncompressed / 1e6:,.0f} MB uncompressed; "
          f"{os.cpu_count()} cores")
    if "duckdb" in results:
        s = results["duckdb"]["settings"]
        print(f"DuckDB {results['duckdb']['version']} with its defaults: threads={s.get('threads')}, "
              f"memory_limit={s.get('memory_limit')}, temp_directory={s.get('temp_directory')} (in its working dir)")
    if "ours" in results:
        j = results["ours"]["join"] or {}
        print(f"ours: every core (one worker each), default --memory-budget-kib ({j.get('memory_budget_bytes', 0) // 1024} KiB), "
              f"{j.get('partitions')} partitions, spilled={j.get('spilled')}; {results['ours']['rules']}")
    print()
    print("| tool | rows (both sides) | wall s | rows/s | input MB/s gzip | input MB/s CSV | CPU s (user+sys) | peak RSS MiB | peak spill/temp GB | other processes' CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, r in results.items():
        wall = r["wall"]
        print(f"| {tool} | {both:,} | {wall:.1f} | {both / wall:,.0f} | {compressed / 1e6 / wall:.1f} | "
              f"{uncompressed / 1e6 / wall:.1f} | {r['user'] + r['system']:.1f} | {mib(r['peak_rss_kib']):.0f} | "
              f"{r['peak_disk'] / 1e9:.2f} | {r['others_cpu']:.1f} |")
    print()
    if any(len(r["walls"]) > 1 for r in results.values()):
        print("walls of every run (the median is in the table; peak RSS is the largest of any run): "
              + "; ".join(f"{tool} {r['walls']}" for tool, r in results.items()))
    missed = []
    values = {}
    if "ours" in results:
        ours = results["ours"]
        values["ours_rss_mib"] = mib(ours["peak_rss_kib"])
        if values["ours_rss_mib"] > RSS_BUDGET_MIB:
            missed.append(f"ours peak RSS {values['ours_rss_mib']:.0f} MiB > {RSS_BUDGET_MIB} MiB")
        print(f"ours peak RSS: {values['ours_rss_mib']:.0f} MiB (budget <= {RSS_BUDGET_MIB} MiB)")
        if "duckdb" in results:
            duck = results["duckdb"]
            values["wall_ratio"] = ours["wall"] / duck["wall"]
            values["rss_ratio"] = ours["peak_rss_kib"] / duck["peak_rss_kib"]
            values["cpu_ratio"] = (ours["user"] + ours["system"]) / (duck["user"] + duck["system"])
            print(f"ours/DuckDB: wall {values['wall_ratio']:.2f}x (budget <= {WALL_BUDGET_RATIO}x), peak RSS {values['rss_ratio']:.2f}x, "
                  f"CPU {values['cpu_ratio']:.2f}x")
            if values["wall_ratio"] > WALL_BUDGET_RATIO:
                missed.append(f"ours wall {ours['wall']:.1f} s = {values['wall_ratio']:.2f}x DuckDB's {duck['wall']:.1f} s > {WALL_BUDGET_RATIO}x")
        rate = both / ours["wall"]
        line = (f"extrapolation, linear at the measured rows/s: 1 billion rows per side = {2e9 / rate / 3600:.1f} h for ours"
                + (f", {2e9 / (both / results['duckdb']['wall']) / 3600:.1f} h for DuckDB" if "duckdb" in results else ""))
        if ours["peak_disk"]:
            # Ours at that size: the first-level partitions (its own estimate, gzip x 8, over the
            # per-worker share of the budget, at most 256), and how many times each would be
            # split again to fit the share (every split is one more write + read of that data).
            workers = os.cpu_count() or 1
            budget = (ours["join"] or {}).get("memory_budget_bytes") or 262_144 * 1024
            share = budget / workers
            gzip_per_row = truth["bytes"]["destination"]["compressed"] / truth["rows"]["destination"]
            first = max(2, min(256, math.ceil(gzip_per_row * 1e9 * 8 / share)))
            spill_per_row = ours["peak_disk"] / both
            part = spill_per_row * 1e9 / first
            splits = 0
            while part > share and splits < 8:
                part /= max(2, min(256, math.ceil(part / share)))
                splits += 1
            line += (f". Ours spilled {spill_per_row:.0f} B/row here (peak {ours['peak_disk'] / 1e9:.1f} GB); at 1 billion "
                     f"rows per side ~{2 * spill_per_row:.0f} GB of spill, {first} partitions of ~{spill_per_row * 1e9 / first / 1e9:.1f} GB "
                     f"per side, " + (f"each split again {splits} time(s) to fit {share / 2**20:.0f} MiB per worker: one more "
                                      f"write + read of the spilled rows per split, so somewhat more than linear"
                                      if splits else "no further split: linear"))
        print(line)
    # The Athena path (`reconcile --engine athena`) on the same reports, as Athena bills it: a
    # CSV report is scanned whole, in its compressed bytes, at $5 per TB with a 10 MB minimum
    # per query; with --redrive-manifest a second query (the UNLOAD) scans it again. Not a run:
    # Athena is not on this machine (docs/reconcile.md says what the local stand-in proves).
    scanned = max(compressed, 10_000_000)
    per_query = scanned / 1e12 * 5
    values["athena_bytes_scanned"] = compressed
    values["athena_usd_per_query"] = per_query
    print(f"athena (--engine athena, billed, not run here): {compressed / 1e9:.2f} GB scanned per query = "
          f"${per_query:.4f}; ${2 * per_query:.4f} with --redrive-manifest (the UNLOAD scans again); "
          f"at 1 billion rows per side ${per_query * 2e9 / both:.2f} per query")
    print()
    results_path = os.path.join(cache, "results.json")
    with open(results_path, "w", encoding="utf-8") as handle:
        json.dump({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "truth": truth, "values": values,
                   "problems": problems, "missed": missed,
                   "results": {t: {k: v for k, v in r.items() if k != "redrive"} for t, r in results.items()}},
                  handle, indent=2, default=str)
    print(f"results: {results_path}")
    failed = False
    if problems:
        print("COUNTS DISAGREE (planted vs tools):\n  " + "\n  ".join(problems))
        failed = True
    else:
        print("counts: ours, DuckDB and the planted truth agree on every verdict and the re-drive manifest "
              f"({truth['redrive_objects']:,} rows)")
    if missed:
        print("BUDGETS MISSED:\n  " + "\n  ".join(missed))
        failed = True
    elif "ours" in results and "duckdb" in results:
        print("all budgets met")
    return 1 if failed else 0


def print_counts(truth: dict, results: dict) -> None:
    expected = dict(truth["verdicts"])
    expected["destination_only"] = truth["rows"]["destination_only"]
    expected["re-drive rows"] = truth["redrive_objects"]
    print()
    print("| verdict | planted | " + " | ".join(results) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in results) + " |")
    for name, want in expected.items():
        cells = []
        for r in results.values():
            got = r["redrive_objects"] if name == "re-drive rows" else r["counts"].get(name, 0)
            cells.append(f"{got:,}" + ("" if got == want else " (!)"))
        print(f"| {name} | {want:,} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=int(os.environ.get("ROWS", "10000000").replace("_", "")),
                        help="source rows (object versions) per inventory (default: $ROWS or 10,000,000)")
    parser.add_argument("--dir", default=os.environ.get("BENCH_RECONCILE_DIR", DEFAULT_DIR), help="data and run directory")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="generator processes")
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached data")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", "1")),
                        help="runs of each tool, interleaved; the median is reported (default: $REPEAT or 1)")
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--duckdb-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.duckdb_child:
        return duckdb_child(json.loads(args.duckdb_child))
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if not os.path.exists(BINARY):
        fail(f"{BINARY} is missing: cargo build --locked --release")

    cache, truth = ensure_data(args.rows, os.path.abspath(args.dir), args.jobs, args.regenerate)
    for side in ("source", "destination"):
        b = truth["bytes"][side]
        print(f"  {side}: {truth['rows'][side]:,} rows in {b['files']} files, {b['compressed'] / 1e6:,.0f} MB gzip, "
              f"{b['uncompressed'] / 1e6:,.0f} MB CSV")
    print(f"  disk used by the data: {directory_bytes(os.path.join(cache, 'report-bucket')) / 1e9:.2f} GB")
    run_dir = os.path.join(cache, "run")
    os.makedirs(run_dir, exist_ok=True)
    # Both tools read from the page cache: read every data file once first.
    for dirpath, _, files in os.walk(os.path.join(cache, "report-bucket")):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as handle:
                while handle.read(1 << 24):
                    pass
    print(f"  machine: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} before the runs")
    runs: dict[str, list] = {"ours": []} if args.skip_duckdb else {"ours": [], "duckdb": []}
    problems = []
    for attempt in range(args.repeat):
        # Interleaved (ours, DuckDB, ours, ...) so that a noisy minute hits both alike.
        for tool, run in (("ours", run_ours), ("duckdb", run_duckdb)):
            if tool not in runs:
                continue
            result = run(cache, truth, run_dir)
            runs[tool].append(result)
            print(f"  {tool} run {attempt + 1}/{args.repeat}: {result['wall']:.1f} s, exit {result['exit']}"
                  + (" (1 = alarming findings, expected)" if tool == "ours" else "")
                  + f", peak RSS {mib(result['peak_rss_kib']):.0f} MiB, CPU {result['user'] + result['system']:.1f} s, "
                  f"other processes' CPU meanwhile {result['others_cpu']:.1f} s, steal {result['steal']:.1f} s", flush=True)
            # Every run's verdicts are checked, not only the one reported.
            problems += [f"run {attempt + 1}: {p}" for p in cross_check(truth, {tool: result}, cache)]
    results = {}
    for tool, done in runs.items():
        ordered = sorted(done, key=lambda r: r["wall"])
        results[tool] = dict(ordered[(len(ordered) - 1) // 2])  # the median run (lower middle)
        results[tool]["peak_rss_kib"] = max(r["peak_rss_kib"] for r in done)
        results[tool]["walls"] = [round(r["wall"], 1) for r in done]
    problems += cross_check(truth, results, cache, files=False)  # ours vs DuckDB, side by side
    print_counts(truth, results)
    return report(truth, results, problems, cache, args.rows)


if __name__ == "__main__":
    sys.exit(main())
