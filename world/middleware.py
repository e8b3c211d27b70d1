"""WSGI middleware in front of moto: what the local world adds at the HTTP level.

- Every SigV4-signed request (Authorization header or presigned query) is verified against the
  secret of its access key (`sigv4.py`): a wrong signature answers 403 `SignatureDoesNotMatch`
  in the service's error shape. Unknown access keys are not verified.
- Fixed access keys act as account A, B or C (`accounts.py`): the key in the SigV4 credential
  scope is mapped to moto's `x-moto-account-id`. Other keys (e.g. from sts:AssumeRole) are left
  to moto, which maps assumed-role keys to the role's account.
- S3 rules moto does not enforce: `x-amz-expected-bucket-owner` naming another account answers
  403 AccessDenied; PutBucketPolicy refuses a malformed principal (400 MalformedPolicy).
- Request faults (throttle, deny, unavailable) answer with the service's own error shape before
  moto sees the request.
- GetBucketReplication answers the configuration exactly as it was PUT (moto loses the Filter);
  PutBucketReplication refuses `SseKmsEncryptedObjects` without `ReplicaKmsKeyID` as S3 does
  (400 InvalidRequest).
- SSE-C, which moto ignores (`sse_c.py`): SSE-C writes are remembered per version, reads without
  the right customer key are refused, new buckets block SSE-C until PutBucketEncryption's
  `BlockedEncryptionTypes` says NONE (and GetBucketEncryption shows the setting).
- Every request is counted per service and operation (`GET /_world/stats`), so tests and
  benchmarks can count API calls at the server.
- `/_world/...` is the control API (health, stats, faults, drain, replication status, the
  credentials sts:AssumeRole issued, bulk object creation for benchmarks, building the named
  extra scenarios with `POST /_world/scenario/<name>`, S3 Inventory reports with
  `POST /_world/inventory?bucket=B&destination=R&format=CSV|Parquet&prefix=P[&versions=all|current&fields=…&now=EPOCH]`,
  S3 Lifecycle expiration of a current version with `POST /_world/lifecycle-expire?bucket=B&key=K`
  (a delete marker S3 never replicates; answers {"version_id": …}), the alarm board and Embedded
  Metric Format ingestion — see `alarms.py`, and what each SNS subscriber received with
  `GET /_world/sns-deliveries[?topic=ARN&protocol=P]` (`DELETE` clears) — see `sns_delivery.py`).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import parse_qs

from werkzeug.wsgi import get_input_stream

from xml.sax.saxutils import escape

from . import cloudwatch_cbor, sigv4, sns_delivery, sse_c
from .accounts import ACCOUNT_BY_ACCESS_KEY, REGION, SOURCE
from .alarms import AlarmEvaluator, ingest_emf
from .engine import ReplicationEngine, _find_bucket, _find_version, parse_replication_configuration
from .faults import FaultError, Faults

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")

_S3_BUCKET_SUBRESOURCES = {
    "replication": "BucketReplication",
    "versioning": "BucketVersioning",
    "policy": "BucketPolicy",
    "notification": "BucketNotificationConfiguration",
    "tagging": "BucketTagging",
    "encryption": "BucketEncryption",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls",
    "location": "BucketLocation",
    "acl": "BucketAcl",
    "lifecycle": "BucketLifecycleConfiguration",
}
_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}


def _path_key(environ) -> tuple[str | None, str | None]:
    # WSGI hands the percent-decoded path as latin-1; S3 keys are UTF-8.
    raw = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    parts = raw.lstrip("/").split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    return bucket, key


def classify_s3(environ) -> tuple[str, str | None, str | None]:
    """(operation, bucket, key) of a path-style S3 request."""
    method = environ.get("REQUEST_METHOD", "GET")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    bucket, key = _path_key(environ)
    if bucket is None:
        return "ListBuckets", None, None
    if key is None:
        for sub, name in _S3_BUCKET_SUBRESOURCES.items():
            if sub in query:
                return _VERB.get(method, method) + name, bucket, None
        if "versions" in query:
            return "ListObjectVersions", bucket, None
        if method == "POST":
            return ("DeleteObjects" if "delete" in query else "PostObject"), bucket, None
        by_method = {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}
        return by_method.get(method, method + "Bucket"), bucket, None
    if "uploadId" in query:
        by_method = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}
        return by_method.get(method, method + "Multipart"), bucket, key
    if "uploads" in query:
        return "CreateMultipartUpload", bucket, key
    if "tagging" in query:
        return _VERB.get(method, method) + "ObjectTagging", bucket, key
    if "acl" in query:
        return _VERB.get(method, method) + "ObjectAcl", bucket, key
    if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return "CopyObject", bucket, key
    by_method = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
    return by_method.get(method, method + "Object"), bucket, key


def _credential(environ) -> tuple[str | None, str | None]:
    """(access key id, service) from the SigV4 Authorization header or a presigned query."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1), match.group(2)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0].split("/")
    if len(credential) >= 4:
        return credential[0], credential[3]
    return None, None


def _buffer_body(environ) -> bytes:
    """Reads the request body and puts it back so moto can read it again."""
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


def _query_operation(environ) -> str:
    if cloudwatch_cbor.is_cbor_request(environ):
        return environ["PATH_INFO"].rsplit("/", 1)[-1]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("REQUEST_METHOD") == "POST" and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = parse_qs(_buffer_body(environ).decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return environ.get("REQUEST_METHOD", "?") + " " + environ.get("PATH_INFO", "")


def _respond(start_response, status: str, body: bytes, content_type: str, method: str = "GET"):
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [b"" if method == "HEAD" else body]


def _json(start_response, payload, status: str = "200 OK"):
    return _respond(start_response, status, json.dumps(payload).encode(), "application/json")


# (status, S3 error code, query-protocol error code, message) per request fault.
_FAULT_ANSWERS = {
    "throttle": ("503 Slow Down", "SlowDown", "Throttling", "Rate exceeded", 400),
    "deny": ("403 Forbidden", "AccessDenied", "AccessDenied", "Access Denied", 403),
    "unavailable": ("503 Service Unavailable", "ServiceUnavailable", "ServiceUnavailable", "Service is unavailable", 503),
}
_QUERY_STATUS = {400: "400 Bad Request", 403: "403 Forbidden", 503: "503 Service Unavailable"}


def fault_response(start_response, fault: str, service: str, method: str):
    """The error a real service answers with: S3's `<Error>` or the query APIs' `<ErrorResponse>`."""
    s3_status, s3_code, query_code, message, query_status = _FAULT_ANSWERS[fault]
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
            f"<Message>{message}</Message><RequestId>world-{fault}</RequestId></Error>"
        ).encode()
        return _respond(start_response, s3_status, body, "application/xml", method)
    error_type = "Receiver" if query_status >= 500 else "Sender"
    body = (
        f"<ErrorResponse><Error><Type>{error_type}</Type><Code>{query_code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>world-{fault}</RequestId></ErrorResponse>"
    ).encode()
    return _respond(start_response, _QUERY_STATUS[query_status], body, "text/xml", method)


_SIGNATURE_MESSAGE = {
    "s3": "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    "query": (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details."
    ),
}


def _is_json_protocol(environ) -> bool:
    content_type = environ.get("CONTENT_TYPE", "")
    return "amz-json" in content_type or "cbor" in content_type or bool(environ.get("HTTP_SMITHY_PROTOCOL"))


def service_error(start_response, environ, service: str, status: str, code: str, message: str, extra_xml: str = ""):
    """An error in the shape `service` answers with: S3's `<Error>`, the JSON protocols'
    `__type` body with `x-amzn-query-error`, or the query protocol's `<ErrorResponse>`."""
    method = environ.get("REQUEST_METHOD", "GET")
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"{extra_xml}<RequestId>world-{code}</RequestId><HostId>world</HostId></Error>"
        ).encode()
        return _respond(start_response, status, body, "application/xml", method)
    if _is_json_protocol(environ):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(body))),
            ("x-amzn-query-error", f"{code};Sender"),
        ]
        start_response(status, headers)
        return [body]
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>world-{code}</RequestId></ErrorResponse>"
    ).encode()
    return _respond(start_response, status, body, "text/xml", method)


def signature_mismatch(start_response, environ, service: str, mismatch: sigv4.Mismatch):
    if service == "s3":
        # S3 echoes what it computed so the caller can compare (S3 API reference, error responses).
        extra = (
            f"<AWSAccessKeyId>{escape(mismatch.access_key_id)}</AWSAccessKeyId>"
            f"<StringToSign>{escape(mismatch.string_to_sign)}</StringToSign>"
            f"<SignatureProvided>{escape(mismatch.signature_provided)}</SignatureProvided>"
            f"<CanonicalRequest>{escape(mismatch.canonical_request)}</CanonicalRequest>"
        )
        return service_error(
            start_response, environ, "s3", "403 Forbidden", "SignatureDoesNotMatch", _SIGNATURE_MESSAGE["s3"], extra
        )
    return service_error(
        start_response, environ, service, "403 Forbidden", "SignatureDoesNotMatch", _SIGNATURE_MESSAGE["query"]
    )


# What S3 accepts as an AWS principal in a bucket policy: "*", an account id, an account root,
# or an IAM user/role (or STS assumed-role session) of an account; anything else — e.g. a bucket
# name where the account id belongs — is refused with "Invalid principal in policy" (S3 user
# guide, "Bucket policies": principals; IAM user guide, "AWS JSON policy elements: Principal").
_VALID_AWS_PRINCIPAL = re.compile(
    r"^(\*|\d{12}|arn:aws:iam::\d{12}:root|arn:aws:iam::\d{12}:(user|role)/(.+/)?[\w+=,.@-]+"
    r"|arn:aws:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)$"
)


def policy_principals_valid(policy: bytes) -> bool:
    """False when a statement names an AWS principal S3 refuses (unparseable policies are left
    to moto)."""
    try:
        document = json.loads(policy)
    except ValueError:
        return True
    statements = document.get("Statement") if isinstance(document, dict) else None
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            continue
        for field in ("Principal", "NotPrincipal"):
            principal = statement.get(field)
            if principal is None or principal == "*":
                continue
            if not isinstance(principal, dict):
                return False
            values = principal.get("AWS", [])
            for value in values if isinstance(values, list) else [values]:
                if not isinstance(value, str) or not _VALID_AWS_PRINCIPAL.match(value):
                    return False
    return True


def _bucket_owner(bucket: str | None) -> str | None:
    from moto.s3.models import s3_backends

    location = s3_backends.bucket_accounts.get(bucket or "")
    return location[1] if location else None


def _instant(text: str) -> float:
    import datetime

    try:
        return float(text)
    except ValueError:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()


# moto 5.2 names the root element of these S3 answers after the operation; S3 names it after
# the document (S3 API reference: GetBucketVersioning answers `VersioningConfiguration`,
# GetBucketNotificationConfiguration `NotificationConfiguration`), and the Rust SDK refuses
# anything else.
_S3_ROOTS = {
    "GetBucketVersioning": (b"GetBucketVersioningResponse", b"VersioningConfiguration"),
    "GetBucketNotificationConfiguration": (b"GetBucketNotificationResponse", b"NotificationConfiguration"),
}


def _rename_root(body: bytes, wrong: bytes, right: bytes) -> bytes:
    return re.sub(rb"<(/?)" + wrong + rb"(?=[\s>/])", rb"<\1" + right, body)


def _set_bucket_owner_enforced(bucket: str | None) -> None:
    """S3 creates every new bucket with Object Ownership "bucket owner enforced" (ACLs disabled)
    unless the request says otherwise (S3 user guide, "Controlling ownership of objects",
    default since April 2023); moto creates it without ownership controls."""
    from moto.s3.models import s3_backends

    location = s3_backends.bucket_accounts.get(bucket or "")
    if location is None:
        return
    found = s3_backends[location[1]][location[0]].buckets.get(bucket)
    if found is not None and found.ownership_rule is None:
        found.ownership_rule = "BucketOwnerEnforced"


def _replication_problem(body: bytes) -> str | None:
    """Why S3 refuses this PutBucketReplication body (None: unparseable bodies are moto's)."""
    try:
        return parse_replication_configuration(body).problem()
    except ET.ParseError:
        return None


def _current_version(bucket_name: str | None, key_name: str | None, version_id: str | None):
    """The object version a GET/HEAD/copy names (None: let moto answer 404/405)."""
    from moto.s3.models import FakeKey

    _, bucket = _find_bucket(bucket_name or "")
    if bucket is None or key_name is None:
        return None
    if version_id:
        return _find_version(bucket, key_name, version_id)
    current = bucket.keys.get(key_name)
    return current if isinstance(current, FakeKey) else None


def sse_c_refusal(environ, operation: str, bucket: str | None, key: str | None) -> tuple[sse_c.Refusal | None, str | None]:
    """(why S3 refuses this request for SSE-C reasons, the customer key MD5 it writes with)."""
    if operation not in sse_c.WRITES + sse_c.READS:
        return None, None
    requested, refusal = sse_c.requested_key_md5(environ)
    if refusal:
        return refusal, None
    if operation in sse_c.READS:
        version_id = (parse_qs(environ.get("QUERY_STRING", "")).get("versionId") or [None])[0]
        version = _current_version(bucket, key, version_id)
        return (sse_c.read_refusal(sse_c.stored_key_md5(version), requested) if version else None), None
    target = _find_bucket(bucket or "")[1]
    if requested and target is not None and not sse_c.allowed_in(target):
        return sse_c.ACCESS_DENIED, None  # SSE-C blocked in this bucket (the 2026 default)
    if operation == "CopyObject":
        source = _current_version(*sse_c.copy_source(environ))
        source_key, refusal = sse_c.copy_source_key_md5(environ)
        if refusal or source is None:
            return refusal, requested
        return sse_c.read_refusal(sse_c.stored_key_md5(source), source_key), requested
    return None, requested


class WorldMiddleware:
    def __init__(self, app, engine: ReplicationEngine, faults: Faults, scenario: dict | None = None):
        self.app = app
        self.engine = engine
        self.faults = faults
        self.scenario = scenario or {}
        self.alarms = AlarmEvaluator()
        # Seconds each request to a service waits before it is answered (`--latency`), so that
        # durations measured against the world look like AWS's (moto answers in ~5 ms).
        self.latency: dict[str, float] = {}
        self._stats: Counter = Counter()
        self._stats_lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_world/"):
            return self._control(environ, start_response)
        access_key, service = _credential(environ)
        if self.latency.get(service or ""):
            time.sleep(self.latency[service])
        signed = sigv4.signed_request(environ)
        if signed is not None:
            known = sigv4.secret_for(signed.access_key_id)
            if known is not None:
                mismatch = sigv4.verify(environ, signed, known[0], known[1], lambda: _buffer_body(environ))
                if mismatch is not None:
                    with self._stats_lock:
                        self._stats[(signed.service, "SignatureDoesNotMatch")] += 1
                    return signature_mismatch(start_response, environ, signed.service, mismatch)
        account = ACCOUNT_BY_ACCESS_KEY.get(access_key or "")
        if account is not None:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = account.account_id
        bucket = key = body = None
        if service == "s3":
            operation, bucket, key = classify_s3(environ)
        else:
            operation = _query_operation(environ)
        with self._stats_lock:
            self._stats[(service or "unsigned", operation)] += 1
            # Which S3 calls came without a bucket owner condition (S3 user guide, "Verifying
            # bucket ownership with bucket owner condition"): the auditor sends one on each.
            if service == "s3" and bucket and not environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER"):
                self._stats[("s3-without-expected-owner", operation)] += 1

        method = environ.get("REQUEST_METHOD", "GET")
        fault = self.faults.take_request_fault(service or "unsigned", operation, bucket, key)
        if fault:
            return fault_response(start_response, fault, service or "unsigned", method)
        if cloudwatch_cbor.answers(environ):
            return cloudwatch_cbor.handle(
                environ,
                start_response,
                _buffer_body(environ),
                account.account_id if account else SOURCE.account_id,
                (signed.region if signed is not None else None) or REGION,
            )
        if service == "s3":
            expected_owner = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
            owner = _bucket_owner(bucket)
            if expected_owner and owner is not None and owner != expected_owner:
                # S3 user guide, "Verifying bucket ownership with bucket owner condition".
                return service_error(start_response, environ, "s3", "403 Forbidden", "AccessDenied", "Access Denied")
            if operation == "PutBucketPolicy" and not policy_principals_valid(_buffer_body(environ)):
                return service_error(
                    start_response, environ, "s3", "400 Bad Request", "MalformedPolicy", "Invalid principal in policy"
                )
            if operation == "GetBucketReplication":
                stored = self.engine.configuration_xml(bucket)
                if stored is not None:
                    return _respond(start_response, "200 OK", stored, "application/xml")
            if operation in ("PutBucketReplication", "PutBucketEncryption"):
                body = _buffer_body(environ)
            problem = _replication_problem(body) if operation == "PutBucketReplication" else None
            if problem:
                return service_error(start_response, environ, "s3", "400 Bad Request", "InvalidRequest", problem)
            refusal, sse_c_key_md5 = sse_c_refusal(environ, operation, bucket, key)
            if refusal:
                return service_error(start_response, environ, "s3", refusal.status, refusal.code, refusal.message)
            self.engine.request_started(operation, sse_c_key_md5)

        status: list[str] = []

        if service == "s3" and operation in _S3_ROOTS:
            return self._renamed_root(environ, start_response, *_S3_ROOTS[operation])
        if service == "s3" and operation == "GetBucketEncryption":
            # moto drops BlockedEncryptionTypes; S3 shows the bucket's.
            found = _find_bucket(bucket or "")[1]
            return self._rewritten(environ, start_response, lambda answer: sse_c.with_blocked_types(answer, found))

        def capture(status_line, headers, exc_info=None):
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        try:
            result = self.app(environ, capture)
        finally:
            self.engine.request_finished()
        if (
            service == "s3"
            and operation == "CreateBucket"
            and status
            and status[0].startswith("2")
            and not environ.get("HTTP_X_AMZ_OBJECT_OWNERSHIP")
        ):
            _set_bucket_owner_enforced(bucket)
        succeeded = bool(status) and status[0].startswith("2")
        if succeeded and operation == "PutBucketReplication" and body is not None:
            self.engine.put_configuration(bucket, body)
        elif succeeded and operation == "DeleteBucketReplication":
            self.engine.delete_configuration(bucket)
        elif succeeded and operation in ("PutBucketEncryption", "DeleteBucketEncryption"):
            sse_c.note_bucket_encryption(_find_bucket(bucket or "")[1], body if operation == "PutBucketEncryption" else None)
        return result

    def _renamed_root(self, environ, start_response, wrong: bytes, right: bytes):
        """Runs moto, then answers with S3's root element name (see `_S3_ROOTS`)."""
        return self._rewritten(environ, start_response, lambda body: _rename_root(body, wrong, right))

    def _rewritten(self, environ, start_response, rewrite):
        """Runs moto, then answers with `rewrite(body)` when moto succeeded."""
        captured: list = []

        def hold(status_line, headers, exc_info=None):
            captured.append((status_line, headers))
            return lambda data: None

        try:
            body = b"".join(self.app(environ, hold))
        finally:
            self.engine.request_finished()
        status_line, headers = captured[0]
        if status_line.startswith("2"):
            body = rewrite(body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status_line, headers)
        return [body]

    # --- control API ------------------------------------------------------------------------
    def _control(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "/_world/health":
            return _json(start_response, {"ok": True})
        if path == "/_world/scenario":
            return _json(start_response, self.scenario)
        if path.startswith("/_world/scenario/") and method == "POST":
            from . import scenario

            name = path[len("/_world/scenario/") :]
            if name not in scenario.EXTRA_SCENARIOS:
                return _json(
                    start_response,
                    {"error": f"no scenario {name!r}; known: {', '.join(sorted(scenario.EXTRA_SCENARIOS))}"},
                    "404 Not Found",
                )
            url = f"http://{environ.get('HTTP_HOST') or environ['SERVER_NAME'] + ':' + environ['SERVER_PORT']}"
            try:
                built = scenario.build(name, url)
            except Exception as error:  # e.g. built twice: buckets already exist
                return _json(start_response, {"error": f"{type(error).__name__}: {error}"}, "409 Conflict")
            self.scenario.setdefault("extras", {})[name] = built  # GET /_world/scenario shows it too
            return _json(start_response, built)
        if path == "/_world/stats":
            if method == "DELETE":
                with self._stats_lock:
                    self._stats.clear()
                return _json(start_response, {"cleared": True})
            with self._stats_lock:
                stats: dict[str, dict[str, int]] = {}
                for (service, operation), count in sorted(self._stats.items()):
                    stats.setdefault(service, {})[operation] = count
            return _json(start_response, stats)
        if path == "/_world/faults":
            if method == "DELETE":
                self.faults.clear()
                return _json(start_response, {"cleared": True})
            if method == "POST":
                try:
                    added = self.faults.add(json.loads(_buffer_body(environ) or b"null"))
                except (FaultError, json.JSONDecodeError) as error:
                    return _json(start_response, {"error": str(error)}, "400 Bad Request")
                return _json(start_response, {"added": added})
            return _json(start_response, self.faults.describe())
        if path == "/_world/drain":
            drained = self.engine.drain(float(query.get("timeout", "10")))
            return _json(start_response, {"drained": drained}, "200 OK" if drained else "504 Gateway Timeout")
        if path == "/_world/bulk-put" and method == "POST":
            # Many small objects at once for benchmarks: through moto's own put_object, so the
            # replication engine sees them exactly as PUTs (marked PENDING when this returns).
            from .engine import _find_bucket

            backend, bucket = _find_bucket(query.get("bucket", ""))
            if bucket is None:
                return _json(start_response, {"error": "no such bucket"}, "404 Not Found")
            prefix, count = query.get("prefix", "bulk/"), int(query.get("count", "1"))
            created = []
            try:
                for index in range(count):
                    key = backend.put_object(bucket.name, f"{prefix}{index:06}", b"bulk object", disable_notification=True)
                    created.append({"key": key.name, "version_id": key.version_id})
            finally:
                self.engine.request_finished()
            return _json(start_response, created)
        if path == "/_world/latency":
            # Per-service answer delays (seconds), as `--latency`: GET shows, POST replaces.
            if method == "POST":
                try:
                    latency = json.loads(_buffer_body(environ) or b"{}")
                    self.latency = {str(k): float(v) for k, v in latency.items()}
                except (ValueError, AttributeError) as error:
                    return _json(start_response, {"error": f"expected {{service: seconds}}: {error}"}, "400 Bad Request")
            return _json(start_response, self.latency)
        if path == "/_world/issued-credentials":
            # What sts:AssumeRole handed out, so tests can prove no secret reaches a log.
            from moto.sts.models import sts_backends

            issued = [
                {
                    "role_arn": role.role_arn,
                    "session_name": role.session_name,
                    "external_id": role.external_id,
                    "access_key_id": role.access_key_id,
                    "secret_access_key": role.secret_access_key,
                    "session_token": role.session_token,
                }
                for _, regions in list(sts_backends.items())
                for _, backend in list(regions.items())
                for role in backend.assumed_roles
            ]
            return _json(start_response, issued)
        if path == "/_world/alarms":
            # The alarm board; `evaluate=1` evaluates every alarm first, at `now` (epoch seconds
            # or ISO 8601; default: the current time), so tests can place datapoints in periods.
            prefix = query.get("prefix", "")
            if query.get("evaluate") in ("1", "true"):
                try:
                    now = _instant(query["now"]) if "now" in query else None
                except ValueError as error:
                    return _json(start_response, {"error": f"now: {error}"}, "400 Bad Request")
                return _json(start_response, self.alarms.evaluate(now, prefix))
            return _json(start_response, self.alarms.board(prefix))
        if path == "/_world/emf" and method == "POST":
            # Embedded Metric Format log lines, as CloudWatch Logs would turn them into metrics
            # for the account (default: the source account) that wrote them.
            backend = self.alarms.backend(query.get("account", SOURCE.account_id), query.get("region", REGION))
            result = ingest_emf(backend, _buffer_body(environ).decode("utf-8", "replace"))
            return _json(start_response, result, "400 Bad Request" if result["rejected"] else "200 OK")
        if path == "/_world/inventory" and method == "POST":
            # An S3 Inventory report of `bucket` written into `destination` (world/inventory.py).
            from .inventory import InventoryError, write_inventory

            try:
                fields = query.get("fields")
                written = write_inventory(
                    query.get("bucket", ""),
                    query.get("destination", ""),
                    file_format=query.get("format", "CSV"),
                    prefix=query.get("prefix", "inventory"),
                    config_id=query.get("config_id", "all-versions"),
                    versions=query.get("versions", "all"),
                    fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
                    rows_per_file=int(query.get("rows_per_file", "100000")),
                    seed=int(query["seed"]) if "seed" in query else None,
                    # When S3 took the report (epoch seconds; default: now): ages count to then.
                    now=float(query["now"]) if "now" in query else None,
                )
            except (InventoryError, ValueError) as error:
                return _json(start_response, {"error": str(error)}, "400 Bad Request")
            finally:
                self.engine.request_finished()
            return _json(start_response, written)
        if path == "/_world/lifecycle-expire" and method == "POST":
            if "bucket" not in query or "key" not in query:
                return _json(start_response, {"error": "bucket and key are required"}, "400 Bad Request")
            try:
                expired = self.engine.lifecycle_expire(query["bucket"], query["key"])
            finally:
                self.engine.request_finished()
            if "error" in expired:
                return _json(start_response, {"error": expired["error"]}, expired["status"])
            return _json(start_response, expired)
        if path == "/_world/sns-deliveries":
            # What each SNS subscriber received, in order (sns_delivery.py); DELETE clears
            # (`topic=` only that topic's).
            if method == "DELETE":
                return _json(start_response, {"cleared": sns_delivery.LOG.clear(query.get("topic"))})
            return _json(start_response, sns_delivery.LOG.list(query.get("topic"), query.get("protocol")))
        if path == "/_world/replication":
            if "bucket" not in query or "key" not in query:
                return _json(start_response, {"error": "bucket and key are required"}, "400 Bad Request")
            info = self.engine.describe(query["bucket"], query["key"], query.get("versionId"))
            return _json(start_response, info, "404 Not Found" if "error" in info else "200 OK")
        return _json(start_response, {"error": f"no such control endpoint {path}"}, "404 Not Found")
