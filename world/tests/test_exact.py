"""Replication behaviours modelled exactly as the Amazon S3 User Guide documents them: which
objects are eligible (encryption, storage class), SSE-C, metadata replication after the object,
every failure reason, sources deleted before replication, V1 rules and S3 Lifecycle's delete
markers. Each test names the page it follows; pinned down with boto3 over HTTP."""

from __future__ import annotations

import base64
import hashlib

import botocore
import pytest
import requests

from world import scenario
from world.accounts import DESTINATION, SOURCE
from world.failure_codes import BATCH_ONLY, DELETE_MARKER, FAILURE_CODES, METADATA, OBJECT
from world.faults import FaultError, Faults

from .test_truth import events, head_status
from .test_world import _drain_queue, make_pair, replication_status, s3, unique

FAILED_EVENT = "Replication:OperationFailedReplication"


def describe(world, bucket, key, version_id=None):
    query = f"bucket={bucket}&key={requests.utils.quote(key)}" + (f"&versionId={version_id}" if version_id else "")
    return world.control(f"/_world/replication?{query}")


def failures(world, bucket, key):
    return [r for r in events(world, bucket, key) if r["eventName"] == FAILED_EVENT]


def tags_of(world, bucket, key, version_id, account=DESTINATION):
    tag_set = s3(world, account).get_object_tagging(Bucket=bucket, Key=key, VersionId=version_id)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


def client_error(call, *args, **kwargs) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(*args, **kwargs)
    return raised.value


def delay(world, seconds, **match):
    assert world.control("/_world/faults", "POST", {"fault": "delay", "seconds": seconds, **match})["added"] == 1


# --- 1. eligibility by encryption ---------------------------------------------------------------


def test_sse_kms_and_dsse_kms_objects_are_not_replicated_without_the_opt_in(world, extras):
    """"Replicating encrypted objects (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html:
    "By default, Amazon S3 doesn't replicate objects that are encrypted with SSE-KMS or DSSE-KMS".
    With no rule left they are like uncovered objects: no replication status, no failure event."""
    _drain_queue(world, scenario.EVENT_QUEUE)
    a = s3(world)
    kms, dsse, sse_s3 = unique("kms"), unique("dsse"), unique("sse-s3")
    a.put_object(Bucket="acme-kms", Key=kms, Body=b"k", ServerSideEncryption="aws:kms")
    a.put_object(Bucket="acme-kms", Key=dsse, Body=b"d", ServerSideEncryption="aws:kms:dsse")
    sse_s3_version = a.put_object(Bucket="acme-kms", Key=sse_s3, Body=b"s", ServerSideEncryption="AES256")["VersionId"]
    world.drain()
    assert replication_status(world, "acme-kms", kms) is None
    assert replication_status(world, "acme-kms", dsse) is None
    assert replication_status(world, "acme-kms", sse_s3) == "COMPLETED"  # SSE-S3 replicates as ever
    replica = s3(world, DESTINATION).head_object(Bucket="acme-kms-replica", Key=sse_s3, VersionId=sse_s3_version)
    assert replica["ServerSideEncryption"] == "AES256"
    for key in (kms, dsse):
        assert client_error(s3(world, DESTINATION).head_object, Bucket="acme-kms-replica", Key=key).response["Error"]["Code"] == "404"
        assert not [r for r in events(world, "acme-kms", key) if r["eventName"] == FAILED_EVENT]


def test_opted_in_rule_replicates_kms_objects_under_the_replica_kms_key(world, extras):
    """"Replicating encrypted objects (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html:
    opt in with SourceSelectionCriteria/SseKmsEncryptedObjects and name the key in
    Destination/EncryptionConfiguration/ReplicaKmsKeyID; "If objects in the source bucket are
    encrypted by using ... SSE-KMS, or DSSE-KMS, the replica objects in the destination bucket use
    the same type of encryption as the source objects"."""
    replica_key = extras["encryption"]["pairs"]["acme-kms-ok"]["replica_kms_key_id"]
    assert replica_key.startswith(f"arn:aws:kms:us-east-1:{DESTINATION.account_id}:key/")
    a, b = s3(world), s3(world, DESTINATION)
    source_key = f"arn:aws:kms:us-east-1:{SOURCE.account_id}:key/source-key"
    for algorithm in ("aws:kms", "aws:kms:dsse"):
        key = unique("kms-ok")
        version = a.put_object(Bucket="acme-kms-ok", Key=key, Body=b"k", ServerSideEncryption=algorithm, SSEKMSKeyId=source_key)["VersionId"]
        world.drain()
        assert replication_status(world, "acme-kms-ok", key, version) == "COMPLETED"
        replica = b.head_object(Bucket="acme-kms-ok-replica", Key=key, VersionId=version)
        assert replica["ReplicationStatus"] == "REPLICA"
        assert (replica["ServerSideEncryption"], replica["SSEKMSKeyId"]) == (algorithm, replica_key)


def test_bucket_default_kms_encryption_makes_objects_kms_objects_too(world):
    """"Replicating encrypted objects (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html:
    an object the bucket's default encryption stores with SSE-KMS is an SSE-KMS object: not
    replicated under a rule without the opt-in."""
    source, _ = make_pair(world)
    a = s3(world)
    a.put_bucket_encryption(
        Bucket=source,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
    )
    a.put_object(Bucket=source, Key="by-default", Body=b"x")
    world.drain()
    head = a.head_object(Bucket=source, Key="by-default")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head.get("ReplicationStatus") is None


def test_put_bucket_replication_refuses_kms_selection_without_a_replica_kms_key(world):
    """"Replication configuration file elements",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html, and the API
    reference's Destination (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Destination.html):
    EncryptionConfiguration — "If SourceSelectionCriteria is specified, you must specify this
    element". S3 answers 400 InvalidRequest "ReplicaKmsKeyID must be specified if
    SseKmsEncryptedObjects tag is present." and stores nothing."""

    def kms_rule_without_key(destination):
        return [{"ID": "kms", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                 "DeleteMarkerReplication": {"Status": "Disabled"},
                 "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                 "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id}}]

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        make_pair(world, rules=kms_rule_without_key)
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidRequest"
    assert error["Error"]["Message"] == "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present."


# --- 2. eligibility by storage class ---------------------------------------------------------------


@pytest.mark.parametrize(
    "storage_class, replicated",
    [("GLACIER", False), ("DEEP_ARCHIVE", False), ("GLACIER_IR", True), ("STANDARD_IA", True),
     ("ONEZONE_IA", True), ("INTELLIGENT_TIERING", True), ("REDUCED_REDUNDANCY", True)],
)
def test_archive_storage_classes_are_not_replicated(world, storage_class, replicated):
    """"What does Amazon S3 replicate?",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html:
    S3 does not replicate "Objects that are stored in the S3 Glacier Flexible Retrieval or S3
    Glacier Deep Archive storage class" (no replication status, like an uncovered object);
    S3 Glacier Instant Retrieval, Standard-IA, One Zone-IA and Intelligent-Tiering objects
    replicate, the replica in the same storage class."""
    key = unique(storage_class.lower())
    version = s3(world).put_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, Body=b"x", StorageClass=storage_class)["VersionId"]
    world.drain()
    if not replicated:
        assert replication_status(world, scenario.HEALTHY_SOURCE, key, version) is None
        assert head_status(world, scenario.HEALTHY_DESTINATION, key, version, DESTINATION) == 404
        return
    assert replication_status(world, scenario.HEALTHY_SOURCE, key, version) == "COMPLETED"
    replica = s3(world, DESTINATION).head_object(Bucket=scenario.HEALTHY_DESTINATION, Key=key, VersionId=version)
    assert replica.get("StorageClass", "STANDARD") == storage_class


def test_intelligent_tiering_archive_access_tiers_cannot_be_modelled():
    """"What does Amazon S3 replicate?",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html,
    and "Restoring an archived object" (objects in the S3 Intelligent-Tiering Archive Access and
    Deep Archive Access tiers are archived, like S3 Glacier Flexible Retrieval ones)."""
    pytest.skip(
        "not modelled: S3 moves Intelligent-Tiering objects to the Archive Access tiers only after 90+ "
        "(or 180+) days without access, which the world has no way to make happen; a new "
        "INTELLIGENT_TIERING object is in the Frequent Access tier and replicates"
    )


def test_a_rule_storage_class_sets_the_replica_storage_class(world):
    """"Replication configuration file elements",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html (Specify
    storage class): "By default, Amazon S3 uses the storage class of the source object to create
    object replicas"; Destination/StorageClass overrides it."""

    def to_standard_ia(destination):
        return [{"ID": "ia", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                 "DeleteMarkerReplication": {"Status": "Disabled"},
                 "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id,
                                 "StorageClass": "STANDARD_IA"}}]

    source, destination = make_pair(world, rules=to_standard_ia)
    version = s3(world).put_object(Bucket=source, Key="k", Body=b"k")["VersionId"]
    world.drain()
    replica = s3(world, DESTINATION).head_object(Bucket=destination, Key="k", VersionId=version)
    assert replica["StorageClass"] == "STANDARD_IA"


# --- 3. SSE-C ---------------------------------------------------------------------------------------

CUSTOMER_KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
CUSTOMER_KEY_MD5 = base64.b64encode(hashlib.md5(CUSTOMER_KEY).digest()).decode()
WITH_KEY = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
WITH_OTHER_KEY = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": OTHER_KEY}


def allow_sse_c(world, bucket, account):
    """PutBucketEncryption with BlockedEncryptionTypes NONE: SSE-C allowed in `bucket`."""
    s3(world, account).put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]},
        }]},
    )


def sse_c_pair(world, allow_in_destination=True):
    source, destination = make_pair(world)
    allow_sse_c(world, source, SOURCE)
    if allow_in_destination:
        allow_sse_c(world, destination, DESTINATION)
    return source, destination


def test_new_buckets_block_sse_c_until_put_bucket_encryption_allows_it(world):
    """"Blocking or unblocking SSE-C for a general purpose bucket",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html:
    starting April 2026 S3 disables SSE-C for new general purpose buckets — SSE-C uploads are
    rejected with 403 AccessDenied — until BlockedEncryptionTypes is set to NONE."""
    source, _ = make_pair(world)
    a = s3(world)
    blocked = client_error(a.put_object, Bucket=source, Key="c", Body=b"c", **WITH_KEY)
    assert (blocked.response["ResponseMetadata"]["HTTPStatusCode"], blocked.response["Error"]["Code"]) == (403, "AccessDenied")
    allow_sse_c(world, source, SOURCE)
    rules = a.get_bucket_encryption(Bucket=source)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["BlockedEncryptionTypes"] == {"EncryptionType": ["NONE"]}
    assert a.put_object(Bucket=source, Key="c", Body=b"c", **WITH_KEY)["SSECustomerKeyMD5"] == CUSTOMER_KEY_MD5


def test_sse_c_objects_need_their_key_to_be_read_and_replicate_with_it(world):
    """"Replicating encrypted objects (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html
    ("S3 Replication supports objects that are encrypted with SSE-C ... automatically replicates
    newly uploaded SSE-C encrypted objects"), and the API reference's HeadObject
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html: the three
    x-amz-server-side-encryption-customer-* headers must be sent; HEAD errors are generic codes
    such as 400 Bad Request, without a body) and GetObject
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)."""
    source, destination = sse_c_pair(world)
    a, b = s3(world), s3(world, DESTINATION)
    version = a.put_object(Bucket=source, Key="secret", Body=b"classified", **WITH_KEY)["VersionId"]
    head = client_error(a.head_object, Bucket=source, Key="secret")
    assert (head.response["ResponseMetadata"]["HTTPStatusCode"], head.response["Error"]["Code"]) == (400, "400")
    get = client_error(a.get_object, Bucket=source, Key="secret")
    assert get.response["Error"]["Code"] == "InvalidRequest"
    assert get.response["Error"]["Message"].startswith("The object was stored using a form of Server Side Encryption.")
    wrong = client_error(a.get_object, Bucket=source, Key="secret", **WITH_OTHER_KEY)
    assert wrong.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    got = a.get_object(Bucket=source, Key="secret", **WITH_KEY)
    assert got["Body"].read() == b"classified"
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", CUSTOMER_KEY_MD5)
    assert "ServerSideEncryption" not in got  # SSE-C, not the bucket's default SSE-S3
    world.drain()
    assert a.head_object(Bucket=source, Key="secret", VersionId=version, **WITH_KEY)["ReplicationStatus"] == "COMPLETED"
    # The replica is SSE-C under the same key: unreadable without it.
    assert client_error(b.head_object, Bucket=destination, Key="secret", VersionId=version).response["Error"]["Code"] == "400"
    replica = b.get_object(Bucket=destination, Key="secret", VersionId=version, **WITH_KEY)
    assert replica["ReplicationStatus"] == "REPLICA" and replica["SSECustomerKeyMD5"] == CUSTOMER_KEY_MD5
    assert replica["Body"].read() == b"classified"


def test_sse_c_key_headers_on_an_object_without_sse_c_are_refused(world):
    """API reference, GetObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html):
    the SSE-C headers are for SSE-C objects only; S3 answers 400 InvalidRequest ("The encryption
    parameters are not applicable to this object.")."""
    key = unique("plain")
    s3(world).put_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, Body=b"p")
    refused = client_error(s3(world).get_object, Bucket=scenario.HEALTHY_SOURCE, Key=key, **WITH_KEY)
    assert refused.response["Error"]["Code"] == "InvalidRequest"


def test_sse_c_multipart_uploads_and_copies_keep_the_customer_key(world):
    """"Using server-side encryption with customer-provided keys (SSE-C)",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html:
    SSE-C applies to PutObject, CopyObject, multipart uploads; copying from an SSE-C source needs
    the x-amz-copy-source-server-side-encryption-customer-* headers. (Not covered by the world:
    SSE-C fields of a browser POST form.)"""
    source, destination = sse_c_pair(world)
    a = s3(world)
    upload = a.create_multipart_upload(Bucket=source, Key="big", **WITH_KEY)
    part = a.upload_part(Bucket=source, Key="big", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 1024, **WITH_KEY)
    version = a.complete_multipart_upload(
        Bucket=source, Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}
    )["VersionId"]
    assert client_error(a.head_object, Bucket=source, Key="big").response["Error"]["Code"] == "400"
    assert a.head_object(Bucket=source, Key="big", **WITH_KEY)["SSECustomerKeyMD5"] == CUSTOMER_KEY_MD5
    copy = {"Bucket": source, "Key": "big"}
    refused = client_error(a.copy_object, Bucket=source, Key="copy", CopySource=copy)
    assert refused.response["Error"]["Code"] == "InvalidRequest"
    a.copy_object(Bucket=source, Key="copy", CopySource=copy, CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=CUSTOMER_KEY)
    assert "SSECustomerKeyMD5" not in a.head_object(Bucket=source, Key="copy")  # no SSE-C asked for the copy
    world.drain()
    replica = s3(world, DESTINATION).head_object(Bucket=destination, Key="big", VersionId=version, **WITH_KEY)
    assert replica["ReplicationStatus"] == "REPLICA"


def test_sse_c_objects_fail_to_replicate_into_a_bucket_that_blocks_sse_c(world):
    """"Blocking or unblocking SSE-C for a general purpose bucket",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html:
    when SSE-C is blocked for a bucket, "replication requests that specify SSE-C encryption will
    be rejected with an HTTP 403 AccessDenied error". The failure reason S3 reports is not
    documented; the world says DstPutObjectNotPermitted ("Amazon S3 replication failure reasons")."""
    source, destination = sse_c_pair(world, allow_in_destination=False)
    version = s3(world).put_object(Bucket=source, Key="c", Body=b"c", **WITH_KEY)["VersionId"]
    world.drain()
    assert describe(world, source, "c")["destinations"][destination] == {"status": "FAILED", "failure_reason": "DstPutObjectNotPermitted"}
    assert head_status(world, destination, "c", version, DESTINATION) == 404


# --- 4. metadata replication after the object --------------------------------------------------------


def test_tag_changes_after_replication_are_notified_and_replicated(world, extras):
    """"What does Amazon S3 replicate?",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
    (object tags and metadata replicate from source to replica), "Event notification types and
    destinations" (s3:ObjectTagging:Put "when a tag is PUT on an object or an existing tag is
    updated", s3:ObjectTagging:Delete "when a tag is removed"), and "Getting replication status
    information", https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html:
    PENDING while metadata changes are replicating, then back — documented for replica
    modification sync; the guide is silent on the source of a tag change, and the world applies
    the same there (PENDING, then COMPLETED or FAILED). A PUT with tags sends no tagging event."""
    bucket, replica_bucket = "acme-deletes-ok", "acme-deletes-ok-replica"
    _drain_queue(world, scenario.EVENT_QUEUE)
    a = s3(world)
    key = unique("retag")
    version = a.put_object(Bucket=bucket, Key=key, Body=b"t", Tagging="team=infra")["VersionId"]
    world.drain()
    assert replication_status(world, bucket, key, version) == "COMPLETED"
    delay(world, 4, key_regex=key)
    a.put_object_tagging(Bucket=bucket, Key=key, VersionId=version, Tagging={"TagSet": [{"Key": "team", "Value": "platform"}]})
    assert replication_status(world, bucket, key, version) == "PENDING"
    world.drain()
    assert replication_status(world, bucket, key, version) == "COMPLETED"
    assert tags_of(world, replica_bucket, key, version) == {"team": "platform"}
    a.delete_object_tagging(Bucket=bucket, Key=key, VersionId=version)
    world.drain()
    assert tags_of(world, replica_bucket, key, version) == {}
    names = [r["eventName"] for r in events(world, bucket, key)]
    assert names.count("ObjectTagging:Put") == 1 and names.count("ObjectTagging:Delete") == 1, names
    assert FAILED_EVENT not in names


def test_tag_change_without_replicate_tags_fails_with_dst_put_tagging_not_permitted(world, extras):
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes
    (DstPutTaggingNotPermitted: "Amazon S3 is unable to replicate object tags to the destination
    bucket") and "Setting up permissions for live replication" (s3:ReplicateTags in the
    destination bucket policy across accounts). The replica stays, with its old tags."""
    assert extras["metadata"]["destinations"]["acme-meta-replica"]["policy_actions"] == ["s3:ReplicateObject", "s3:ReplicateDelete"]
    _drain_queue(world, scenario.EVENT_QUEUE)
    a = s3(world)
    key = unique("meta")
    version = a.put_object(Bucket="acme-meta", Key=key, Body=b"m", Tagging="stage=draft")["VersionId"]
    world.drain()
    assert replication_status(world, "acme-meta", key, version) == "COMPLETED"  # tags at first replication need no ReplicateTags
    assert tags_of(world, "acme-meta-replica", key, version) == {"stage": "draft"}
    a.put_object_tagging(Bucket="acme-meta", Key=key, VersionId=version, Tagging={"TagSet": [{"Key": "stage", "Value": "final"}]})
    world.drain()
    assert replication_status(world, "acme-meta", key, version) == "FAILED"
    assert describe(world, "acme-meta", key)["destinations"] == {
        "acme-meta-replica": {"status": "FAILED", "failure_reason": "DstPutTaggingNotPermitted"}
    }
    assert head_status(world, "acme-meta-replica", key, version, DESTINATION) == "REPLICA"
    assert tags_of(world, "acme-meta-replica", key, version) == {"stage": "draft"}
    failed = failures(world, "acme-meta", key)
    assert len(failed) == 1 and failed[0]["s3"]["object"]["versionId"] == version
    data = failed[0]["replicationEventData"]
    assert (data["replicationRuleId"], data["failureReason"], data["s3Operation"]) == ("meta-all", "DstPutTaggingNotPermitted", "OBJECT_TAGGING_PUT")


def test_tag_change_of_a_replica_deleted_in_the_destination_fails_with_dst_version_not_found(world, extras):
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes:
    DstVersionNotFound — "unable to find the required object version in the destination bucket
    for which metadata needs to be replicated"."""
    key = unique("gone-replica")
    world.control("/_world/faults", "POST", {"fault": "delete_replica", "key_regex": key})
    version = s3(world).put_object(Bucket="acme-deletes-ok", Key=key, Body=b"g")["VersionId"]
    world.drain()
    world.control("/_world/faults", "DELETE")
    assert replication_status(world, "acme-deletes-ok", key, version) == "COMPLETED"
    s3(world).put_object_tagging(Bucket="acme-deletes-ok", Key=key, VersionId=version, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    world.drain()
    assert describe(world, "acme-deletes-ok", key)["failure_reason"] == "DstVersionNotFound"
    assert replication_status(world, "acme-deletes-ok", key, version) == "FAILED"


def test_objects_tagged_after_the_put_do_not_become_eligible(world, extras):
    """"Replication configuration file elements",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html: "If objects
    are tagged after the PutObject operation, those objects also won't be replicated." Tagging a
    version replication does not cover starts nothing."""
    key = unique("late-tag")
    version = s3(world).put_object(Bucket="acme-tagged", Key=key, Body=b"l")["VersionId"]
    s3(world).put_object_tagging(Bucket="acme-tagged", Key=key, VersionId=version, Tagging={"TagSet": [{"Key": "replicate", "Value": "yes"}]})
    world.drain()
    assert replication_status(world, "acme-tagged", key, version) is None
    assert head_status(world, "acme-tagged-replica", key, version, DESTINATION) == 404


def test_put_object_acl_is_notified_as_object_acl_put(world):
    """"Event notification types and destinations",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html:
    s3:ObjectAcl:Put "when an ACL is PUT on an object". (A bucket with ACLs enabled: under the
    default Object Ownership "bucket owner enforced" S3 refuses most ACLs.)"""
    a = s3(world)
    bucket = unique("acl")
    a.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
    queue_arn = f"arn:aws:sqs:us-east-1:{SOURCE.account_id}:{scenario.EVENT_QUEUE}"
    a.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": scenario.EVENTS}]}
    )
    _drain_queue(world, scenario.EVENT_QUEUE)
    a.put_object(Bucket=bucket, Key="k", Body=b"k")
    a.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    records = events(world, bucket, "k")
    assert [r["eventName"] for r in records] == ["ObjectCreated:Put", "ObjectAcl:Put"], records
    assert records[1]["eventVersion"] == "2.3"  # "Event message structure": ACL events are 2.3


def test_acl_replication_is_not_modelled():
    """"What does Amazon S3 replicate?",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html:
    "Object ACL updates, unless you direct Amazon S3 to change the replica ownership"."""
    pytest.skip(
        "not modelled: the world's buckets default to Object Ownership 'bucket owner enforced' (ACLs "
        "disabled) and every scenario rule changes the replica owner, so S3 replicates no ACL update "
        "there; ACL failures (DstPutAclNotPermitted, SrcGetAclNotPermitted) come from `fail` faults only"
    )


# --- 5. every failure reason, injectable ---------------------------------------------------------------


def test_the_failure_code_table_is_the_user_guides():
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes:
    34 codes; the four the page calls "specific to Batch Replication" are batch_only."""
    assert len(FAILURE_CODES) == 34
    by_class = {cls: sorted(c for c, f in FAILURE_CODES.items() if f.cls == cls) for cls in (OBJECT, DELETE_MARKER, METADATA, BATCH_ONLY)}
    assert by_class[BATCH_ONLY] == ["DstBucketInvalidRegion", "DstObjectHardDeleted", "InitiateReplicationNotPermitted", "SrcBucketInvalidRegion"]
    assert by_class[DELETE_MARKER] == ["DstDelObjNotPermitted"]
    assert by_class[METADATA] == [
        "DstPutAclNotPermitted", "DstPutLegalHoldNotPermitted", "DstPutRetentionNotPermitted", "DstPutTaggingNotPermitted",
        "DstVersionNotFound", "SrcGetAclNotPermitted", "SrcGetLegalHoldNotPermitted", "SrcGetRetentionNotPermitted",
        "SrcGetTaggingNotPermitted",
    ]
    assert {"SrcKeyNotFound", "SrcVersionNotFound", "DstPutObjectNotPermitted", "AssumeRoleNotPermitted"} <= set(by_class[OBJECT])


def test_a_fail_fault_reason_must_be_one_of_the_codes():
    faults = Faults()
    with pytest.raises(FaultError, match="`reason`"):
        faults.add({"fault": "fail", "reason": "DstPutObjectNotAllowed"})
    with pytest.raises(FaultError, match="`reason`"):
        faults.add({"fault": "stay_pending", "reason": "DstPutObjectNotPermitted"})
    faults.add({"fault": "fail"})
    assert faults.describe() == [{"fault": "fail", "reason": "DstPutObjectNotPermitted"}]


def test_every_failure_reason_can_be_injected_with_its_class_semantics(world, extras):
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes.
    object and batch_only codes: no replica; metadata codes: the replica is written (a tags code
    without the tags; DstVersionNotFound: none) but the destination is FAILED; the delete-marker
    code fails the delete marker and leaves the object alone. Each sends OperationFailedReplication
    with that failureReason."""
    bucket, replica_bucket = "acme-deletes-ok", "acme-deletes-ok-replica"
    run = unique("codes")
    keys = {code: f"{run}/{code}" for code in FAILURE_CODES}
    world.control("/_world/faults", "POST", [{"fault": "fail", "reason": code, "key_regex": f"^{key}$"} for code, key in keys.items()])
    _drain_queue(world, scenario.EVENT_QUEUE)
    a = s3(world)
    versions = {code: a.put_object(Bucket=bucket, Key=key, Body=b"x", Tagging="t=1")["VersionId"] for code, key in keys.items()}
    world.drain()
    markers = {}
    for code, key in keys.items():
        cls, version = FAILURE_CODES[code].cls, versions[code]
        replica = head_status(world, replica_bucket, key, version, DESTINATION)
        if cls == DELETE_MARKER:
            assert replication_status(world, bucket, key, version) == "COMPLETED", code
            markers[code] = a.delete_object(Bucket=bucket, Key=key)["VersionId"]
            continue
        assert replication_status(world, bucket, key, version) == "FAILED", code
        assert describe(world, bucket, key)["destinations"][replica_bucket] == {"status": "FAILED", "failure_reason": code}
        if cls == METADATA and code != "DstVersionNotFound":
            assert replica == "REPLICA", code
            expected_tags = {} if FAILURE_CODES[code].about == "tags" else {"t": "1"}
            assert tags_of(world, replica_bucket, key, version) == expected_tags, code
        else:
            assert replica == 404, code
    world.drain()
    records = [r for r in events(world, bucket) if r["eventName"] == FAILED_EVENT and r["s3"]["object"]["key"].startswith(run)]
    reasons = {r["s3"]["object"]["key"].split("/", 1)[1]: r["replicationEventData"] for r in records}
    assert set(reasons) == set(FAILURE_CODES) and len(records) == len(FAILURE_CODES)
    for code, data in reasons.items():
        assert data["failureReason"] == code
        assert data["s3Operation"] == ("DELETE_MARKER_PUT" if code in markers else "OBJECT_PUT"), code
    marker_replicas = s3(world, DESTINATION).list_object_versions(Bucket=replica_bucket, Prefix=keys["DstDelObjNotPermitted"])
    assert "DeleteMarkers" not in marker_replicas


def test_a_metadata_fault_about_tags_fails_a_later_tag_change_too(world, extras):
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes:
    SrcGetTaggingNotPermitted ("unable to access object tag information from the source bucket")
    can fail the replication of a tag change; an ACL code cannot."""
    bucket = "acme-deletes-ok"
    a = s3(world)
    tagged, other = unique("src-tags"), unique("acl-code")
    versions = {key: a.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"] for key in (tagged, other)}
    world.drain()
    world.control("/_world/faults", "POST", [
        {"fault": "fail", "reason": "SrcGetTaggingNotPermitted", "key_regex": tagged},
        {"fault": "fail", "reason": "DstPutAclNotPermitted", "key_regex": other},
    ])
    _drain_queue(world, scenario.EVENT_QUEUE)
    for key, version in versions.items():
        a.put_object_tagging(Bucket=bucket, Key=key, VersionId=version, Tagging={"TagSet": [{"Key": "n", "Value": "1"}]})
    world.drain()
    assert replication_status(world, bucket, tagged, versions[tagged]) == "FAILED"
    assert replication_status(world, bucket, other, versions[other]) == "COMPLETED"
    assert tags_of(world, "acme-deletes-ok-replica", other, versions[other]) == {"n": "1"}
    data = failures(world, bucket, tagged)[0]["replicationEventData"]
    assert (data["failureReason"], data["s3Operation"]) == ("SrcGetTaggingNotPermitted", "OBJECT_TAGGING_PUT")


# --- 6. source deleted before replication -------------------------------------------------------------


def test_a_version_deleted_before_replication_fails_with_src_key_or_version_not_found(world, extras):
    """"Amazon S3 replication failure reasons",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-metrics-events.html#replication-failure-codes:
    SrcKeyNotFound — "unable to find the source object key to replicate. Source object may have
    been deleted before replication was complete"; SrcVersionNotFound — "unable to find the
    source object version to replicate". The world says SrcKeyNotFound when no version of the key
    is left, SrcVersionNotFound when other versions of the key remain (the page draws no line)."""
    bucket, replica_bucket = "acme-deletes-ok", "acme-deletes-ok-replica"
    a = s3(world)
    only, kept = unique("only-version"), unique("other-versions")
    kept_first = a.put_object(Bucket=bucket, Key=kept, Body=b"1")["VersionId"]
    world.drain()
    delay(world, 2, bucket=bucket)
    _drain_queue(world, scenario.EVENT_QUEUE)
    doomed = {only: a.put_object(Bucket=bucket, Key=only, Body=b"o")["VersionId"], kept: a.put_object(Bucket=bucket, Key=kept, Body=b"2")["VersionId"]}
    for key, version in doomed.items():
        a.delete_object(Bucket=bucket, Key=key, VersionId=version)
    world.drain()
    records = [r for r in events(world, bucket) if r["eventName"] == FAILED_EVENT]
    for key, reason in ((only, "SrcKeyNotFound"), (kept, "SrcVersionNotFound")):
        version = doomed[key]
        assert describe(world, bucket, key, version)["destinations"] == {replica_bucket: {"status": "FAILED", "failure_reason": reason}}
        failed = [r for r in records if r["s3"]["object"]["key"] == key]
        assert len(failed) == 1 and failed[0]["s3"]["object"]["versionId"] == version, key
        data = failed[0]["replicationEventData"]
        assert (data["failureReason"], data["s3Operation"], data["replicationRuleId"]) == (reason, "OBJECT_PUT", "deletes-permitted")
        assert head_status(world, replica_bucket, key, version, DESTINATION) == 404
    assert replication_status(world, bucket, kept, kept_first) == "COMPLETED"


# --- 7. V1 rules replicate delete markers -------------------------------------------------------------


def test_v1_rules_replicate_delete_markers(world, extras):
    """"Replication configuration file elements",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html (Backward
    compatibility considerations): "If you use the replication configuration XML V1 format, Amazon
    S3 replicates only delete markers that result from user actions" — a V1 rule (no Filter) needs
    no DeleteMarkerReplication. Also "What does Amazon S3 replicate?" (How delete operations
    affect replication)."""
    rules = s3(world).get_bucket_replication(Bucket="acme-v1")["ReplicationConfiguration"]["Rules"]
    assert [(r["ID"], r.get("Prefix"), "Filter" in r) for r in rules] == [("v1-everything", "", False)]
    a = s3(world)
    key = unique("v1")
    version = a.put_object(Bucket="acme-v1", Key=key, Body=b"v")["VersionId"]
    world.drain()
    assert replication_status(world, "acme-v1", key, version) == "COMPLETED"
    marker = a.delete_object(Bucket="acme-v1", Key=key)["VersionId"]
    world.drain()
    versions = s3(world, DESTINATION).list_object_versions(Bucket="acme-v1-replica", Prefix=key)
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [(marker, True)]


# --- 8. S3 Lifecycle's delete markers are never replicated --------------------------------------------


@pytest.mark.parametrize("bucket, replica_bucket", [("acme-deletes-ok", "acme-deletes-ok-replica"), ("acme-v1", "acme-v1-replica")])
def test_lifecycle_delete_markers_are_notified_but_never_replicated(world, extras, bucket, replica_bucket):
    """"Replicating delete markers between buckets",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-marker-replication.html: "If you
    enable delete marker replication and your source bucket has an S3 Lifecycle expiration rule,
    the delete markers added by the S3 Lifecycle expiration rule won't be replicated"; V1 rules
    neither ("What does Amazon S3 replicate?"). S3 notifies s3:LifecycleExpiration:DeleteMarkerCreated
    ("Event notification types and destinations"), not s3:ObjectRemoved:DeleteMarkerCreated."""
    a = s3(world)
    key = unique("expired")
    version = a.put_object(Bucket=bucket, Key=key, Body=b"e")["VersionId"]
    world.drain()
    _drain_queue(world, scenario.EVENT_QUEUE)
    marker = world.control(f"/_world/lifecycle-expire?bucket={bucket}&key={key}", "POST")["version_id"]
    world.drain()
    listing = a.list_object_versions(Bucket=bucket, Prefix=key)
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker, True)]
    records = events(world, bucket, key)
    assert [(r["eventName"], r["s3"]["object"]["versionId"]) for r in records] == [("LifecycleExpiration:DeleteMarkerCreated", marker)]
    replicas = s3(world, DESTINATION).list_object_versions(Bucket=replica_bucket, Prefix=key)
    assert "DeleteMarkers" not in replicas and [v["VersionId"] for v in replicas["Versions"]] == [version]


def test_lifecycle_does_not_expire_objects_pending_replication(world, extras, pending_window):
    """"Getting replication status information",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html: "S3 Lifecycle
    blocks expiration and transition actions on objects with PENDING or FAILED replication
    status"."""
    key = unique("not-yet")
    s3(world).put_object(Bucket="acme-deletes-ok", Key=key, Body=b"p")
    answer = world.control(f"/_world/lifecycle-expire?bucket=acme-deletes-ok&key={key}", "POST")
    assert "PENDING or FAILED" in answer["error"]
    world.drain()
    assert "version_id" in world.control(f"/_world/lifecycle-expire?bucket=acme-deletes-ok&key={key}", "POST")


# --- 9. the scenarios ---------------------------------------------------------------------------------


def test_new_scenarios_notify_the_auditor_queue_with_the_metadata_and_lifecycle_events(world, extras):
    queue_arn = f"arn:aws:sqs:us-east-1:{SOURCE.account_id}:{scenario.EVENT_QUEUE}"
    for bucket in ("acme-kms", "acme-kms-ok", "acme-meta", "acme-v1"):
        config = s3(world).get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
        assert [c["QueueArn"] for c in config] == [queue_arn], bucket
        assert {"s3:ObjectTagging:*", "s3:ObjectAcl:Put", "s3:LifecycleExpiration:DeleteMarkerCreated"} <= set(config[0]["Events"])
    assert extras["encryption"]["pairs"]["acme-kms"]["rule_id"] == "all-objects"
    assert extras["encryption"]["pairs"]["acme-kms-ok"]["rule_id"] == "kms-objects"
    rules = s3(world).get_bucket_replication(Bucket="acme-kms-ok")["ReplicationConfiguration"]["Rules"]
    assert rules[0]["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert rules[0]["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == extras["encryption"]["pairs"]["acme-kms-ok"]["replica_kms_key_id"]
    assert extras["v1-rules"]["destinations"]["acme-v1-replica"]["rule_id"] == "v1-everything"
    assert extras["metadata"]["expected"]["tag changes after replication"] == "DstPutTaggingNotPermitted"
