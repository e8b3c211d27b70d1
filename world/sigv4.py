"""Signature Version 4 verification for the local world, as AWS does it for every signed request.

The canonical request and the signature are computed with botocore's own signer pieces
(`SigV4Auth.canonical_headers`, `signed_headers`, `string_to_sign`, `signature`), fed with what
the client actually sent: the method, the raw (still percent-encoded) path from werkzeug's
`RAW_URI`, the query string, exactly the headers named in `SignedHeaders`, and the payload hash
(`x-amz-content-sha256` when sent — `UNSIGNED-PAYLOAD` and streaming values included — else the
SHA-256 of the body; `UNSIGNED-PAYLOAD` for presigned S3 URLs). Secrets come from the world's
fixed accounts, from credentials moto's `sts:AssumeRole` issued, and from IAM access keys created
in moto. Unknown access keys are not verified (moto then acts as its default account).

Canonical URI: S3 signs the path URI-encoded once; the other services encode it twice (AWS
General Reference, "Create a canonical request"). A client's path encoding of reserved
characters can differ from the canonical one, so the path as sent and the path re-encoded the
canonical way are both tried.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

from .accounts import ACCOUNT_BY_ACCESS_KEY

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass
class Mismatch:
    """A signature that does not verify, with what S3 reports back about it."""

    access_key_id: str
    string_to_sign: str
    signature_provided: str
    canonical_request: str


@dataclass
class _Signed:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    presigned: bool


def _parse_authorization(header: str) -> dict[str, str] | None:
    if not header.startswith(ALGORITHM + " "):
        return None
    fields = {}
    for part in header[len(ALGORITHM) + 1 :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&") if query else []:
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((name, value))
    return pairs


def signed_request(environ) -> _Signed | None:
    """What the request says about its signature, or None when it is not SigV4-signed."""
    fields = _parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
    presigned = False
    if fields is not None:
        credential = fields.get("Credential", "")
        signed_headers = fields.get("SignedHeaders", "")
        signature = fields.get("Signature", "")
        timestamp = environ.get("HTTP_X_AMZ_DATE", "")
    else:
        query = {unquote(k): unquote(v) for k, v in _query_pairs(environ.get("QUERY_STRING", ""))}
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            return None
        credential = query.get("X-Amz-Credential", "")
        signed_headers = query.get("X-Amz-SignedHeaders", "")
        signature = query.get("X-Amz-Signature", "")
        timestamp = query.get("X-Amz-Date", "")
        presigned = True
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None
    return _Signed(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=[h for h in signed_headers.lower().split(";") if h],
        signature=signature,
        timestamp=timestamp,
        presigned=presigned,
    )


def secret_for(access_key_id: str) -> tuple[str, str | None] | None:
    """(secret, session token) of a known access key: a world account, an sts:AssumeRole
    credential or an IAM user's access key in moto; None for an unknown key."""
    account = ACCOUNT_BY_ACCESS_KEY.get(access_key_id)
    if account is not None:
        return account.secret_access_key, None
    from moto.sts.models import sts_backends

    for _, regions in list(sts_backends.items()):
        for _, backend in list(regions.items()):
            for role in list(backend.assumed_roles):
                if role.access_key_id == access_key_id:
                    return role.secret_access_key, role.session_token
    from moto.iam.models import iam_backends

    for _, partitions in list(iam_backends.items()):
        for _, backend in list(partitions.items()):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        return key.secret_access_key, None
    return None


def _headers(environ, names: list[str]) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name in names:
        if name == "content-type":
            value = environ.get("CONTENT_TYPE")
        elif name == "content-length":
            value = environ.get("CONTENT_LENGTH")
        else:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        headers[name] = value if value is not None else ""
    return headers


def _canonical_query(query: str, presigned: bool) -> str:
    pairs = []
    for name, value in _query_pairs(query):
        if presigned and unquote(name) == "X-Amz-Signature":
            continue
        # Decode what the client encoded, then encode the canonical way (RFC 3986 unreserved kept).
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _raw_path(environ) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        # WSGI hands the raw URI as latin-1 characters; S3 keys are UTF-8.
        raw = raw.encode("latin-1").decode("utf-8", "replace")
        if "://" in raw.split("?", 1)[0]:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
        return raw.split("?", 1)[0] or "/"
    return quote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"), safe="/~") or "/"


def _canonical_paths(environ, service: str) -> list[str]:
    raw = _raw_path(environ)
    decoded = unquote(raw)
    if service == "s3":
        candidates = [raw, quote(decoded, safe="/~")]
    else:
        candidates = [quote(normalize_url_path(raw), safe="/~"), quote(normalize_url_path(quote(decoded, safe="/~")), safe="/~")]
    unique = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def _payload_hash(environ, signed: _Signed, read_body) -> str:
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared:
        return declared
    if signed.presigned and signed.service == "s3":
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(read_body()).hexdigest()


def verify(environ, signed: _Signed, secret: str, token: str | None, read_body) -> Mismatch | None:
    """None when the signature verifies, else what did not match."""
    auth = SigV4Auth(Credentials(signed.access_key_id, secret, token), signed.service, signed.region)

    class _Request:  # what botocore's string_to_sign/signature read from a request
        context = {"timestamp": signed.timestamp}

    headers = _headers(environ, signed.signed_headers)
    payload = _payload_hash(environ, signed, read_body)
    canonical_request = ""
    string_to_sign = ""
    for path in _canonical_paths(environ, signed.service):
        canonical_request = "\n".join(
            [
                environ.get("REQUEST_METHOD", "GET").upper(),
                path,
                _canonical_query(environ.get("QUERY_STRING", ""), signed.presigned),
                auth.canonical_headers(headers) + "\n",
                auth.signed_headers(headers),
                payload,
            ]
        )
        string_to_sign = auth.string_to_sign(_Request, canonical_request)
        expected = auth.signature(string_to_sign, _Request)
        if hmac.compare_digest(expected, signed.signature):
            return None
    return Mismatch(signed.access_key_id, string_to_sign, signed.signature, canonical_request)
