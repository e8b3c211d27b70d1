"""Server-side encryption with customer-provided keys (SSE-C), which moto ignores.

The world remembers, per object version, that it was written with SSE-C and the key's MD5
(S3 keeps "a randomly salted HMAC value of the encryption key" to check later requests; the
MD5 serves the same purpose here). As S3 does (user guide, "Using server-side encryption with
customer-provided keys (SSE-C)", https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html;
API reference, HeadObject and GetObject):
- PutObject, CopyObject (the new object's headers) and CreateMultipartUpload with the three
  `x-amz-server-side-encryption-customer-*` headers store an SSE-C version (the completed
  multipart upload inherits its CreateMultipartUpload's key). Not covered: SSE-C fields of a
  browser POST form, and UploadPart's own headers (not checked against the upload's key).
- HEAD or GET of an SSE-C version without the key answers 400 (HEAD: no body, as every HEAD
  error; GET: `InvalidRequest` "The object was stored using a form of Server Side
  Encryption..."); with another key 403 AccessDenied; with the right key as usual plus
  `x-amz-server-side-encryption-customer-algorithm: AES256` and `-customer-key-MD5`. The key
  headers on a version that is not SSE-C answer 400 InvalidRequest. CopyObject from an SSE-C
  source needs the `x-amz-copy-source-server-side-encryption-customer-*` headers likewise.
- Since April 2026 S3 blocks SSE-C in every new general purpose bucket (user guide, "Blocking or
  unblocking SSE-C for a general purpose bucket",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html):
  SSE-C writes, and replication of SSE-C objects into the bucket, are refused (403 AccessDenied)
  until PutBucketEncryption sets `BlockedEncryptionTypes` `EncryptionType` `NONE`.
Not modelled: S3 also refuses SSE-C over plain HTTP; the world only speaks HTTP on loopback.
The exact error messages for malformed keys are not in the user guide; these are S3's as SDK
users quote them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

ALGORITHM = "AES256"
KEY_MD5_ATTRIBUTE = "_world_sse_c_key_md5"  # on a FakeKey (and a FakeMultipart): the key's MD5
ALLOWED_ATTRIBUTE = "_world_sse_c_allowed"  # on a FakeBucket: SSE-C unblocked by PutBucketEncryption

_HEADER = "HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_"
_COPY_HEADER = "HTTP_X_AMZ_COPY_SOURCE_SERVER_SIDE_ENCRYPTION_CUSTOMER_"
WRITES = ("PutObject", "CopyObject", "CreateMultipartUpload")
READS = ("GetObject", "HeadObject")
STORED_WITH_SSE = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)


@dataclass(frozen=True)
class Refusal:
    status: str
    code: str
    message: str


def _bad(message: str) -> Refusal:
    return Refusal("400 Bad Request", "InvalidArgument", message)


ACCESS_DENIED = Refusal("403 Forbidden", "AccessDenied", "Access Denied")
WRONG_KEY = Refusal(
    "403 Forbidden",
    "AccessDenied",
    "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.",
)


def _headers(environ, prefix: str) -> tuple[str | None, str | None, str | None]:
    return (environ.get(prefix + "ALGORITHM"), environ.get(prefix + "KEY"), environ.get(prefix + "KEY_MD5"))


def requested_key_md5(environ, prefix: str = _HEADER) -> tuple[str | None, Refusal | None]:
    """(the request's SSE-C key MD5, or None without SSE-C headers; a refusal if they are wrong)."""
    algorithm, key, md5 = _headers(environ, prefix)
    if not (algorithm or key or md5):
        return None, None
    if algorithm != ALGORITHM:
        return None, Refusal(
            "400 Bad Request",
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256.",
        )
    if not key:
        return None, _bad("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
    try:
        raw = base64.b64decode(key, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:  # AES-256
        return None, _bad("The secret key was invalid for the specified algorithm.")
    computed = base64.b64encode(hashlib.md5(raw).digest()).decode()
    if not md5:
        return None, _bad(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."
        )
    if md5 != computed:
        return None, _bad("The calculated MD5 hash of the key did not match the hash that was provided.")
    return computed, None


def stored_key_md5(version) -> str | None:
    return getattr(version, KEY_MD5_ATTRIBUTE, None)


def read_refusal(stored: str | None, requested: str | None) -> Refusal | None:
    """Why S3 refuses to read (or copy from) a version stored with `stored` given `requested`."""
    if stored is None:
        if requested is None:
            return None
        return Refusal("400 Bad Request", "InvalidRequest", "The encryption parameters are not applicable to this object.")
    if requested is None:
        return Refusal("400 Bad Request", "InvalidRequest", STORED_WITH_SSE)
    return None if requested == stored else WRONG_KEY


def allowed_in(bucket) -> bool:
    """Whether `bucket` (a FakeBucket) accepts SSE-C writes; new buckets block SSE-C."""
    return bool(getattr(bucket, ALLOWED_ATTRIBUTE, False))


def note_bucket_encryption(bucket, body: bytes | None) -> None:
    """Remembers a successful PutBucketEncryption's `BlockedEncryptionTypes` (moto drops it);
    `body` None is DeleteBucketEncryption, back to the default (SSE-C blocked: this world's
    reading, the guide does not say)."""
    if bucket is None:
        return
    if body is None:
        setattr(bucket, ALLOWED_ATTRIBUTE, False)
        return
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return
    types = [el.text for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "EncryptionType"]
    if types:  # without BlockedEncryptionTypes the setting stays as it was
        setattr(bucket, ALLOWED_ATTRIBUTE, "SSE-C" not in types and "NONE" in types)


def with_blocked_types(body: bytes, bucket) -> bytes:
    """GetBucketEncryption's answer with the bucket's `BlockedEncryptionTypes` in each rule."""
    value = b"NONE" if allowed_in(bucket) else b"SSE-C"
    element = b"<BlockedEncryptionTypes><EncryptionType>" + value + b"</EncryptionType></BlockedEncryptionTypes>"
    return re.sub(rb"</Rule>", element + b"</Rule>", body)


def copy_source(environ) -> tuple[str, str, str | None]:
    """(bucket, key, version id) named by CopyObject's `x-amz-copy-source`."""
    parsed = urlparse(environ.get("HTTP_X_AMZ_COPY_SOURCE", ""))
    bucket, _, key = unquote(parsed.path).lstrip("/").partition("/")
    return bucket, key, (parse_qs(parsed.query).get("versionId") or [None])[0]


def copy_source_key_md5(environ) -> tuple[str | None, Refusal | None]:
    return requested_key_md5(environ, _COPY_HEADER)


def response_headers(version) -> dict[str, str]:
    """What S3 adds to HEAD/GET/PUT answers of an SSE-C version."""
    md5 = stored_key_md5(version)
    if md5 is None:
        return {}
    return {
        "x-amz-server-side-encryption-customer-algorithm": ALGORITHM,
        "x-amz-server-side-encryption-customer-key-MD5": md5,
    }
