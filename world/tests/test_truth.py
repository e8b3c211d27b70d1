"""The world produces only states real S3 can produce and models what real setups have: replicas
keep the source's Last-Modified, several destinations are replicated one by one, tag filters,
delete-marker replication, two-way replication, verified signatures, S3's policy and ownership
checks — pinned down with boto3 over HTTP against a running world."""

from __future__ import annotations

import time

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from world import scenario
from world.accounts import DESTINATION, REGION, SOURCE, THIRD

from .conftest import start_world
from .test_world import _drain_queue, make_pair, replication_status, s3, unique


def client(world, service, account=SOURCE, secret=None, **credentials):
    return boto3.client(
        service,
        endpoint_url=world.url,
        region_name=REGION,
        aws_access_key_id=credentials.get("key", account.access_key_id),
        aws_secret_access_key=secret or credentials.get("secret", account.secret_access_key),
        aws_session_token=credentials.get("token"),
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, signature_version="s3v4"),
    )


def events(world, bucket, key=None):
    records = [r for body in _drain_queue(world, scenario.EVENT_QUEUE) for r in body.get("Records", [])]
    return [
        r for r in records
        if r["s3"]["bucket"]["name"] == bucket and (key is None or r["s3"]["object"]["key"] == key)
    ]


def head_status(world, bucket, key, version_id, account):
    try:
        return s3(world, account).head_object(Bucket=bucket, Key=key, VersionId=version_id).get("ReplicationStatus")
    except botocore.exceptions.ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


# --- 1. Last-Modified ------------------------------------------------------------------------


def test_replica_keeps_the_source_last_modified():
    slow = start_world("--scenario", "classic", "--replication-delay", "1.5")
    try:
        a, b = s3(slow, SOURCE), s3(slow, DESTINATION)
        version = a.put_object(Bucket=scenario.HEALTHY_SOURCE, Key="old.png", Body=b"x")["VersionId"]
        slow.drain()
        source = a.head_object(Bucket=scenario.HEALTHY_SOURCE, Key="old.png", VersionId=version)
        replica = b.head_object(Bucket=scenario.HEALTHY_DESTINATION, Key="old.png", VersionId=version)
        assert replica["ReplicationStatus"] == "REPLICA"
        assert replica["LastModified"] == source["LastModified"]  # written 1.5 s later, same time
    finally:
        assert slow.stop() == 0


# --- 2. several destinations, one by one -------------------------------------------------------


def test_multi_destination_scenario_fails_only_for_the_third_account(world, extras):
    built = extras["multi-destination"]
    assert built["destinations"]["acme-multi-c"]["account"] == THIRD.account_id
    _drain_queue(world, scenario.EVENT_QUEUE)
    key = unique("multi")
    version = s3(world).put_object(Bucket="acme-multi", Key=key, Body=b"m")["VersionId"]
    world.drain()
    assert replication_status(world, "acme-multi", key, version) == "FAILED"
    assert head_status(world, "acme-multi-b", key, version, DESTINATION) == "REPLICA"  # kept
    assert head_status(world, "acme-multi-c", key, version, THIRD) == 404
    info = world.control(f"/_world/replication?bucket=acme-multi&key={key}")
    assert info["destinations"] == {
        "acme-multi-b": {"status": "COMPLETED", "failure_reason": None},
        "acme-multi-c": {"status": "FAILED", "failure_reason": "DstPutObjectNotPermitted"},
    }
    failures = [r for r in events(world, "acme-multi", key) if r["eventName"] == "Replication:OperationFailedReplication"]
    assert len(failures) == 1
    data = failures[0]["replicationEventData"]
    assert data["destinationBucket"] == "arn:aws:s3:::acme-multi-c"
    assert data["replicationRuleId"] == "to-c"
    assert data["failureReason"] == "DstPutObjectNotPermitted" and data["s3Operation"] == "OBJECT_PUT"


def _two_healthy_destinations(world):
    second = unique("dst2")
    b = s3(world, DESTINATION)
    b.create_bucket(Bucket=second)
    b.put_bucket_versioning(Bucket=second, VersioningConfiguration={"Status": "Enabled"})
    b.put_bucket_policy(Bucket=second, Policy=scenario.destination_policy(second, f"arn:aws:iam::{SOURCE.account_id}:root"))

    def rules(first):
        return [
            {"ID": f"to-{bucket}", "Priority": priority, "Status": "Enabled", "Filter": {"Prefix": ""},
             "DeleteMarkerReplication": {"Status": "Disabled"},
             "Destination": {"Bucket": f"arn:aws:s3:::{bucket}", "Account": DESTINATION.account_id}}
            for priority, bucket in ((1, first), (2, second))
        ]

    source, first = make_pair(world, rules=rules)
    return source, first, second


def test_two_healthy_destinations_complete_only_when_both_have_the_replica(world, pending_window):
    source, first, second = _two_healthy_destinations(world)
    version = s3(world).put_object(Bucket=source, Key="k", Body=b"k")["VersionId"]
    assert replication_status(world, source, "k", version) == "PENDING"
    world.drain()
    assert replication_status(world, source, "k", version) == "COMPLETED"
    for bucket in (first, second):
        assert head_status(world, bucket, "k", version, DESTINATION) == "REPLICA"


def test_stay_pending_for_one_destination_keeps_the_source_pending_with_the_other_replica_written(world):
    source, first, second = _two_healthy_destinations(world)
    world.control("/_world/faults", "POST", {"fault": "stay_pending", "bucket": source, "destination": second})
    version = s3(world).put_object(Bucket=source, Key="k", Body=b"k")["VersionId"]
    world.drain()
    assert replication_status(world, source, "k", version) == "PENDING"
    assert head_status(world, first, "k", version, DESTINATION) == "REPLICA"
    assert head_status(world, second, "k", version, DESTINATION) == 404


def test_fail_for_one_destination_fails_the_source_and_keeps_the_other_replica(world):
    source, first, second = _two_healthy_destinations(world)
    world.control("/_world/faults", "POST", {"fault": "fail", "bucket": source, "destination": first})
    version = s3(world).put_object(Bucket=source, Key="k", Body=b"k")["VersionId"]
    world.drain()
    assert replication_status(world, source, "k", version) == "FAILED"
    assert head_status(world, first, "k", version, DESTINATION) == 404
    assert head_status(world, second, "k", version, DESTINATION) == "REPLICA"
    info = world.control(f"/_world/replication?bucket={source}&key=k")
    assert info["destinations"][first] == {"status": "FAILED", "failure_reason": "DstPutObjectNotPermitted"}


def test_faults_are_validated():
    from world.faults import FaultError, Faults

    faults = Faults()
    with pytest.raises(FaultError, match="unknown fault"):
        faults.add({"fault": "mismatch_replica"})  # retired: S3 never rewrites a version's body
    with pytest.raises(FaultError, match="replication faults only"):
        faults.add({"fault": "deny", "destination": "x"})
    faults.add({"fault": "fail", "bucket": "s", "destination": "d1"})
    assert faults.replication_fault("s", "k", "d1") == "fail"
    assert faults.replication_fault("s", "k", "d2") is None


# --- 3. tag filters --------------------------------------------------------------------------


def test_tag_filter_covers_only_tagged_objects(world, extras):
    a = s3(world)
    tagged = a.put_object(Bucket="acme-tagged", Key=unique("t"), Body=b"1", Tagging="replicate=yes")
    other = a.put_object(Bucket="acme-tagged", Key=unique("t"), Body=b"2", Tagging="replicate=no")
    none = a.put_object(Bucket="acme-tagged", Key=unique("t"), Body=b"3")
    world.drain()
    listing = {v["VersionId"]: v["Key"] for v in a.list_object_versions(Bucket="acme-tagged")["Versions"]}
    assert replication_status(world, "acme-tagged", listing[tagged["VersionId"]], tagged["VersionId"]) == "COMPLETED"
    assert replication_status(world, "acme-tagged", listing[other["VersionId"]], other["VersionId"]) is None
    assert replication_status(world, "acme-tagged", listing[none["VersionId"]], none["VersionId"]) is None
    assert head_status(world, "acme-tagged-replica", listing[tagged["VersionId"]], tagged["VersionId"], DESTINATION) == "REPLICA"


def test_tag_routing_sends_each_tier_to_its_bucket(world, extras):
    a = s3(world)
    gold, silver, plain = unique("gold"), unique("silver"), unique("plain")
    gold_v = a.put_object(Bucket="acme-routed", Key=gold, Body=b"g", Tagging="tier=gold")["VersionId"]
    silver_v = a.put_object(Bucket="acme-routed", Key=silver, Body=b"s", Tagging="tier=silver")["VersionId"]
    plain_v = a.put_object(Bucket="acme-routed", Key=plain, Body=b"p")["VersionId"]
    world.drain()
    assert replication_status(world, "acme-routed", gold, gold_v) == "COMPLETED"
    assert replication_status(world, "acme-routed", silver, silver_v) == "COMPLETED"
    assert replication_status(world, "acme-routed", plain, plain_v) is None
    assert head_status(world, "acme-routed-gold", gold, gold_v, DESTINATION) == "REPLICA"
    assert head_status(world, "acme-routed-silver", gold, gold_v, DESTINATION) == 404
    assert head_status(world, "acme-routed-silver", silver, silver_v, DESTINATION) == "REPLICA"
    assert head_status(world, "acme-routed-gold", silver, silver_v, DESTINATION) == 404


# --- 4. delete markers -----------------------------------------------------------------------


def _put_then_delete(world, bucket, key):
    a = s3(world)
    version = a.put_object(Bucket=bucket, Key=key, Body=b"d")["VersionId"]
    world.drain()
    deleted = a.delete_object(Bucket=bucket, Key=key)
    assert deleted["DeleteMarker"] is True
    world.drain()
    return version, deleted["VersionId"]


def test_delete_markers_replicate_with_the_same_version_id_when_allowed(world, extras):
    _drain_queue(world, scenario.EVENT_QUEUE)
    key = unique("gone")
    version, marker = _put_then_delete(world, "acme-deletes-ok", key)
    b = s3(world, DESTINATION)
    versions = b.list_object_versions(Bucket="acme-deletes-ok-replica", Prefix=key)
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [(marker, True)]
    assert [v["VersionId"] for v in versions["Versions"]] == [version]
    # HEAD of a delete-marker version: 405 MethodNotAllowed; HEAD without version: 404.
    assert head_status(world, "acme-deletes-ok-replica", key, marker, DESTINATION) == 405
    assert head_status(world, "acme-deletes-ok", key, marker, SOURCE) == 405
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        b.head_object(Bucket="acme-deletes-ok-replica", Key=key)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    records = events(world, "acme-deletes-ok", key)
    created = [r for r in records if r["eventName"] == "ObjectRemoved:DeleteMarkerCreated"]
    assert len(created) == 1 and created[0]["s3"]["object"]["versionId"] == marker
    assert "size" not in created[0]["s3"]["object"] and "eTag" not in created[0]["s3"]["object"]
    assert not [r for r in records if r["eventName"].startswith("Replication:")]


def test_delete_markers_fail_with_dst_del_obj_not_permitted_without_replicate_delete(world, extras):
    _drain_queue(world, scenario.EVENT_QUEUE)
    key = unique("kept")
    version, marker = _put_then_delete(world, "acme-deletes", key)
    assert replication_status(world, "acme-deletes", key, version) == "COMPLETED"  # the object did replicate
    versions = s3(world, DESTINATION).list_object_versions(Bucket="acme-deletes-replica", Prefix=key)
    assert "DeleteMarkers" not in versions and [v["VersionId"] for v in versions["Versions"]] == [version]
    records = events(world, "acme-deletes", key)
    assert [r["s3"]["object"]["versionId"] for r in records if r["eventName"] == "ObjectRemoved:DeleteMarkerCreated"] == [marker]
    failures = [r for r in records if r["eventName"] == "Replication:OperationFailedReplication"]
    assert len(failures) == 1
    assert failures[0]["s3"]["object"]["key"] == key and failures[0]["s3"]["object"]["versionId"] == marker
    data = failures[0]["replicationEventData"]
    assert data == {
        "replicationRuleId": "deletes-not-permitted",
        "destinationBucket": "arn:aws:s3:::acme-deletes-replica",
        "s3Operation": "DELETE_MARKER_PUT",
        "requestTime": data["requestTime"],
        "failureReason": "DstDelObjNotPermitted",
    }


def test_delete_markers_are_not_replicated_when_disabled_or_under_a_tag_filter(world, extras):
    # The classic pair has DeleteMarkerReplication Disabled.
    key = unique("classic-del")
    _put_then_delete(world, scenario.HEALTHY_SOURCE, key)
    versions = s3(world, DESTINATION).list_object_versions(Bucket=scenario.HEALTHY_DESTINATION, Prefix=key)
    assert "DeleteMarkers" not in versions and len(versions["Versions"]) == 1

    def tag_rule_with_delete_markers(destination):
        return [{"ID": "tagged", "Priority": 1, "Status": "Enabled",
                 "Filter": {"Tag": {"Key": "replicate", "Value": "yes"}},
                 "DeleteMarkerReplication": {"Status": "Enabled"},
                 "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id}}]

    source, destination = make_pair(world, rules=tag_rule_with_delete_markers)
    a = s3(world)
    a.put_object(Bucket=source, Key="t", Body=b"t", Tagging="replicate=yes")
    world.drain()
    a.delete_object(Bucket=source, Key="t")
    world.drain()
    versions = s3(world, DESTINATION).list_object_versions(Bucket=destination)
    assert "DeleteMarkers" not in versions and len(versions["Versions"]) == 1


def test_deleting_a_specific_version_is_not_replicated(world, extras):
    a = s3(world)
    key = unique("version-delete")
    version = a.put_object(Bucket="acme-deletes-ok", Key=key, Body=b"v")["VersionId"]
    world.drain()
    a.delete_object(Bucket="acme-deletes-ok", Key=key, VersionId=version)
    world.drain()
    assert head_status(world, "acme-deletes-ok-replica", key, version, DESTINATION) == "REPLICA"


# --- 5. two-way replication ------------------------------------------------------------------


def test_two_way_replicas_are_notified_and_never_replicated_back(world, extras):
    _drain_queue(world, scenario.EVENT_QUEUE)
    key_east, key_west = unique("east"), unique("west")
    east_v = s3(world, SOURCE).put_object(Bucket="acme-east", Key=key_east, Body=b"e")["VersionId"]
    west_v = s3(world, DESTINATION).put_object(Bucket="acme-west", Key=key_west, Body=b"w")["VersionId"]
    world.drain()
    assert head_status(world, "acme-east", key_east, east_v, SOURCE) == "COMPLETED"
    assert head_status(world, "acme-west", key_east, east_v, DESTINATION) == "REPLICA"
    assert head_status(world, "acme-west", key_west, west_v, DESTINATION) == "COMPLETED"
    assert head_status(world, "acme-east", key_west, west_v, SOURCE) == "REPLICA"
    # The replicas were not replicated onward: each key has exactly one version in each bucket.
    for account, bucket in ((SOURCE, "acme-east"), (DESTINATION, "acme-west")):
        for key in (key_east, key_west):
            assert len(s3(world, account).list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1
    replica_events = [r for r in events(world, "acme-east", key_west) if r["eventName"].startswith("ObjectCreated:")]
    assert len(replica_events) == 1 and replica_events[0]["s3"]["object"]["versionId"] == west_v


# --- 6. signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("service, call", [
    ("s3", lambda c: c.list_buckets()),
    ("sts", lambda c: c.get_caller_identity()),
])
def test_right_key_wrong_secret_is_signature_does_not_match(world, service, call):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call(client(world, service, SOURCE, secret="wJalrXUtnFEMI/not/the/right/secret0000000"))
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    call(client(world, service, SOURCE))  # the right secret works


def test_s3_signature_error_echoes_what_s3_computed(world):
    response = requests.get(
        client(world, "s3").generate_presigned_url("list_buckets").replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10
    )
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text and "<CanonicalRequest>" in response.text


def test_presigned_urls_and_raw_encoded_keys_verify(world):
    key = "dir/Screen Shot 1+1=2 (copy) é ~!$&'*,;@.png"
    a = client(world, "s3")  # SigV4 presigning (boto3 presigns S3 URLs with SigV2 unless told)
    a.put_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, Body=b"raw")
    assert a.get_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)["Body"].read() == b"raw"
    url = a.generate_presigned_url("get_object", Params={"Bucket": scenario.HEALTHY_SOURCE, "Key": key}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"raw"
    wrong = client(world, "s3", SOURCE, secret="not-the-secret").generate_presigned_url(
        "get_object", Params={"Bucket": scenario.HEALTHY_SOURCE, "Key": key}, ExpiresIn=60
    )
    assert requests.get(wrong, timeout=10).status_code == 403
    listed = a.list_objects_v2(Bucket=scenario.HEALTHY_SOURCE, Prefix="dir/Screen Shot 1+1=2")["Contents"]
    assert [o["Key"] for o in listed] == [key]


def test_assumed_role_credentials_are_verified_too(world):
    credentials = client(world, "sts", SOURCE).assume_role(
        RoleArn=f"arn:aws:iam::{THIRD.account_id}:role/{scenario.AUDIT_ROLE}",
        RoleSessionName="audit-c",
        ExternalId=scenario.EXTERNAL_ID,
    )["Credentials"]
    good = client(world, "sts", key=credentials["AccessKeyId"], secret=credentials["SecretAccessKey"], token=credentials["SessionToken"])
    assert good.get_caller_identity()["Account"] == THIRD.account_id
    bad = client(world, "s3", key=credentials["AccessKeyId"], secret="forged", token=credentials["SessionToken"])
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bad.list_buckets()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unknown_access_keys_are_not_verified(world):
    unknown = client(world, "sts", key="AKIAUNKNOWNKEY000000", secret="anything")
    assert unknown.get_caller_identity()["Account"] == "123456789012"  # moto's default account


def test_third_account_has_its_own_key(world):
    assert client(world, "sts", THIRD).get_caller_identity()["Account"] == THIRD.account_id


# --- 7. bucket policy principals -------------------------------------------------------------


def test_put_bucket_policy_refuses_a_bucket_name_as_principal_like_aws(world):
    b = s3(world, DESTINATION)
    before = b.get_bucket_policy(Bucket=scenario.BROKEN_DESTINATION)["Policy"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        b.put_bucket_policy(Bucket=scenario.BROKEN_DESTINATION, Policy=scenario.howto_author_policy())
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"] == {"Code": "MalformedPolicy", "Message": "Invalid principal in policy"}
    assert b.get_bucket_policy(Bucket=scenario.BROKEN_DESTINATION)["Policy"] == before


def test_classic_broken_pair_names_account_b_own_id(world):
    import json

    policy = json.loads(s3(world, DESTINATION).get_bucket_policy(Bucket=scenario.BROKEN_DESTINATION)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{DESTINATION.account_id}:root"}


@pytest.mark.parametrize("principal, accepted", [
    ("*", True),
    (SOURCE.account_id, True),
    (f"arn:aws:iam::{THIRD.account_id}:root", True),
    (f"arn:aws:iam::{SOURCE.account_id}:role/{scenario.REPLICATION_ROLE}", True),
    (f"arn:aws:iam::{SOURCE.account_id}:user/ops/alice", True),
    ("arn:aws:iam::acme-reports:root", False),
    ("acme-reports", False),
    ("arn:aws:iam::1111:root", False),
])
def test_put_bucket_policy_principal_validation(world, principal, accepted):
    b = s3(world, DESTINATION)
    try:
        b.put_bucket_policy(Bucket=scenario.HEALTHY_DESTINATION, Policy=scenario.destination_policy(scenario.HEALTHY_DESTINATION, principal))
        assert accepted
    except botocore.exceptions.ClientError as error:
        assert not accepted and error.response["Error"]["Code"] == "MalformedPolicy"
    finally:
        b.put_bucket_policy(
            Bucket=scenario.HEALTHY_DESTINATION,
            Policy=scenario.destination_policy(scenario.HEALTHY_DESTINATION, f"arn:aws:iam::{SOURCE.account_id}:root"),
        )


# --- 8. ownership and missing things ---------------------------------------------------------


def test_expected_bucket_owner_of_another_account_is_access_denied(world):
    a = s3(world)
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        a.head_bucket(Bucket=scenario.HEALTHY_SOURCE, ExpectedBucketOwner=DESTINATION.account_id)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        a.list_objects_v2(Bucket=scenario.HEALTHY_SOURCE, ExpectedBucketOwner=DESTINATION.account_id)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert a.head_bucket(Bucket=scenario.HEALTHY_SOURCE, ExpectedBucketOwner=SOURCE.account_id)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_missing_bucket_and_missing_key_answer_404(world):
    a = s3(world)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        a.head_bucket(Bucket=unique("no-such-bucket"))
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        a.head_object(Bucket=scenario.HEALTHY_SOURCE, Key=unique("no-such-key"))
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# --- 11. scenarios ---------------------------------------------------------------------------


def test_extra_scenarios_notify_the_auditor_queue_and_have_audit_roles_in_b_and_c(world, extras):
    queue_arn = f"arn:aws:sqs:{REGION}:{SOURCE.account_id}:{scenario.EVENT_QUEUE}"
    a = s3(world)
    for bucket in ("acme-tagged", "acme-routed", "acme-multi", "acme-deletes", "acme-deletes-ok", "acme-east"):
        config = a.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
        assert [c["QueueArn"] for c in config] == [queue_arn], bucket
        assert sorted(config[0]["Events"]) == sorted(scenario.EVENTS), bucket
    assert extras["tag-filter"]["audit_role_arns"] == {
        DESTINATION.account_id: f"arn:aws:iam::{DESTINATION.account_id}:role/{scenario.AUDIT_ROLE}",
        THIRD.account_id: f"arn:aws:iam::{THIRD.account_id}:role/{scenario.AUDIT_ROLE}",
    }
    rules = a.get_bucket_replication(Bucket="acme-multi")["ReplicationConfiguration"]["Rules"]
    assert [(r["ID"], r["Destination"]["Account"]) for r in rules] == [("to-b", DESTINATION.account_id), ("to-c", THIRD.account_id)]
    assert world.control("/_world/scenario/no-such-thing", "POST")["error"].startswith("no scenario")


def test_multi_object_delete_markers_replicate_too(world, extras):
    a = s3(world)
    keys = [unique("bulk-del"), unique("bulk-del")]
    for key in keys:
        a.put_object(Bucket="acme-deletes-ok", Key=key, Body=b"x")
    world.drain()
    deleted = a.delete_objects(Bucket="acme-deletes-ok", Delete={"Objects": [{"Key": k} for k in keys]})["Deleted"]
    world.drain()
    markers = {d["Key"]: d["DeleteMarkerVersionId"] for d in deleted}
    for key in keys:
        replica_markers = s3(world, DESTINATION).list_object_versions(Bucket="acme-deletes-ok-replica", Prefix=key)["DeleteMarkers"]
        assert [m["VersionId"] for m in replica_markers] == [markers[key]]


def test_extra_scenarios_can_be_built_at_start_up_and_are_listed():
    fresh = start_world("--scenario", "classic", "--scenario", "two-way")
    try:
        listed = fresh.control("/_world/scenario")
        assert listed["broken"] == {"source": scenario.BROKEN_SOURCE, "destination": scenario.BROKEN_DESTINATION}
        assert listed["extras"]["two-way"]["buckets"]["acme-west"]["replicates_to"] == "acme-east"
        assert fresh.control("/_world/scenario/tag-filter", "POST")["destinations"]["acme-tagged-replica"]["rule_id"] == "replicate-yes"
        assert fresh.control("/_world/scenario")["extras"]["tag-filter"]["source"] == "acme-tagged"
    finally:
        assert fresh.stop() == 0


def test_answers_use_s3s_document_roots_and_new_buckets_enforce_bucket_ownership(world):
    """S3 answers GetBucketVersioning with `VersioningConfiguration` and an empty notification
    configuration with `NotificationConfiguration` (moto names them after the operation), and
    creates buckets with Object Ownership BucketOwnerEnforced unless told otherwise."""
    a = s3(world)
    bucket, other = unique("roots"), unique("writer")
    a.create_bucket(Bucket=bucket)
    a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    bodies = {}

    def keep(http_response, model, **_):
        bodies[model.name] = http_response.content.decode()

    a.meta.events.register("after-call.s3.*", keep)
    a.get_bucket_versioning(Bucket=bucket)
    a.get_bucket_notification_configuration(Bucket=bucket)
    assert "<VersioningConfiguration" in bodies["GetBucketVersioning"], bodies
    assert "<NotificationConfiguration" in bodies["GetBucketNotificationConfiguration"], bodies
    assert a.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    a.create_bucket(Bucket=other, ObjectOwnership="ObjectWriter")
    assert a.get_bucket_ownership_controls(Bucket=other)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "ObjectWriter"}]
