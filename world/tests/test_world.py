"""The local world behaves like two AWS accounts with real S3 replication — pinned down here
against the running server with boto3, over HTTP, the way the auditor and the demo use it."""

from __future__ import annotations

import json
import signal
import uuid

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from world import scenario
from world.accounts import DESTINATION, REGION, SOURCE

from .conftest import start_world


def s3(world, account=SOURCE, retries=1):
    return boto3.client(
        "s3",
        endpoint_url=world.url,
        region_name=REGION,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": retries, "mode": "standard"}),
    )


def replication_status(world, bucket, key, version_id=None, account=SOURCE):
    kwargs = {"VersionId": version_id} if version_id else {}
    return s3(world, account).head_object(Bucket=bucket, Key=key, **kwargs).get("ReplicationStatus")


def failure_reason(world, bucket, key):
    return world.control(f"/_world/replication?bucket={bucket}&key={requests.utils.quote(key)}")["failure_reason"]


def unique(prefix="obj"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_pair(world, versioned_destination=True, create_destination=True, principal=None, role_arn=None, rules=None):
    """A fresh cross-account pair (the healthy how-to unless told otherwise)."""
    source, destination = unique("src"), unique("dst")
    a, b = s3(world, SOURCE), s3(world, DESTINATION)
    a.create_bucket(Bucket=source)
    a.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    if create_destination:
        b.create_bucket(Bucket=destination)
        if versioned_destination:
            b.put_bucket_versioning(Bucket=destination, VersioningConfiguration={"Status": "Enabled"})
        b.put_bucket_policy(
            Bucket=destination,
            Policy=scenario.destination_policy(destination, principal or f"arn:aws:iam::{SOURCE.account_id}:root"),
        )
    default_rule = {
        "ID": "all",
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id},
    }
    config = {
        "Role": role_arn or f"arn:aws:iam::{SOURCE.account_id}:role/{scenario.REPLICATION_ROLE}",
        "Rules": rules(destination) if rules else [default_rule],
    }
    a.put_bucket_replication(Bucket=source, ReplicationConfiguration=config)
    return source, destination


# --- the server itself ----------------------------------------------------------------------


def test_starts_under_two_seconds_and_stops_cleanly_on_sigterm():
    fresh = start_world()
    assert fresh.startup_seconds < 2.0, f"took {fresh.startup_seconds:.2f}s to print READY"
    assert fresh.control("/_world/health") == {"ok": True}
    assert fresh.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(fresh.url + "/_world/health", timeout=2)


def test_ctrl_c_also_stops_cleanly():
    fresh = start_world()
    fresh.process.send_signal(signal.SIGINT)
    assert fresh.process.wait(timeout=10) == 0


# --- accounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("account", [SOURCE, DESTINATION])
def test_fixed_access_keys_act_as_their_account(world, account):
    sts = boto3.client(
        "sts",
        endpoint_url=world.url,
        region_name=REGION,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
    )
    assert sts.get_caller_identity()["Account"] == account.account_id


def test_assume_role_from_a_into_b_gives_b_credentials_that_read_b(world):
    sts = scenario.client("sts", world.url, SOURCE)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{DESTINATION.account_id}:role/{scenario.AUDIT_ROLE}",
        RoleSessionName="test",
        ExternalId=scenario.EXTERNAL_ID,
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    issued = world.control("/_world/issued-credentials")
    assert any(c["session_token"] == credentials["SessionToken"] and c["external_id"] == scenario.EXTERNAL_ID for c in issued)
    assumed_sts = session.client("sts", endpoint_url=world.url)
    assert assumed_sts.get_caller_identity()["Account"] == DESTINATION.account_id
    assumed_s3 = session.client("s3", endpoint_url=world.url, config=Config(s3={"addressing_style": "path"}))
    assert assumed_s3.head_bucket(Bucket=scenario.HEALTHY_DESTINATION)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_buckets_belong_to_their_accounts(world):
    assert scenario.HEALTHY_SOURCE in [b["Name"] for b in s3(world, SOURCE).list_buckets()["Buckets"]]
    assert scenario.HEALTHY_SOURCE not in [b["Name"] for b in s3(world, DESTINATION).list_buckets()["Buckets"]]
    assert scenario.HEALTHY_DESTINATION in [b["Name"] for b in s3(world, DESTINATION).list_buckets()["Buckets"]]


# --- replication ---------------------------------------------------------------------------


def test_put_goes_pending_then_completed_with_an_identical_replica(world, pending_window):
    a, b = s3(world, SOURCE), s3(world, DESTINATION)
    key = "screens/Screen Shot 2026-11-24 at 10.00.00 é+%.png"
    put = a.put_object(
        Bucket=scenario.HEALTHY_SOURCE,
        Key=key,
        Body=b"\x89PNG fake screenshot",
        ContentType="image/png",
        Metadata={"camera_model": "phone"},
        Tagging="team=infra",
    )
    version = put["VersionId"]
    assert replication_status(world, scenario.HEALTHY_SOURCE, key, version) == "PENDING"
    assert a.get_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)["ReplicationStatus"] == "PENDING"
    world.drain()
    source_head = a.head_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, VersionId=version)
    assert source_head["ReplicationStatus"] == "COMPLETED"
    replica = b.get_object(Bucket=scenario.HEALTHY_DESTINATION, Key=key, VersionId=version)
    assert replica["ReplicationStatus"] == "REPLICA"
    assert replica["VersionId"] == version
    assert replica["ETag"] == source_head["ETag"]
    assert replica["ContentType"] == "image/png"
    assert replica["Metadata"] == {"camera_model": "phone"}
    assert replica["Body"].read() == b"\x89PNG fake screenshot"
    # S3 keeps the original creation time: the replica's Last-Modified is the source's.
    assert replica["LastModified"] == source_head["LastModified"]
    tags = b.get_object_tagging(Bucket=scenario.HEALTHY_DESTINATION, Key=key, VersionId=version)["TagSet"]
    assert tags == [{"Key": "team", "Value": "infra"}]


def test_copy_multipart_and_post_writes_are_replicated_too(world, pending_window):
    a, b = s3(world, SOURCE), s3(world, DESTINATION)
    bucket = scenario.HEALTHY_SOURCE
    original_key = unique("orig")
    a.put_object(Bucket=bucket, Key=original_key, Body=b"x")
    copy_key = unique("copy")
    a.copy_object(Bucket=bucket, Key=copy_key, CopySource={"Bucket": bucket, "Key": original_key})
    multipart_key = unique("multi")
    upload = a.create_multipart_upload(Bucket=bucket, Key=multipart_key)
    part = a.upload_part(Bucket=bucket, Key=multipart_key, UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 1024)
    a.complete_multipart_upload(
        Bucket=bucket, Key=multipart_key, UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    post_key = unique("post")
    form = a.generate_presigned_post(Bucket=bucket, Key=post_key)
    assert requests.post(form["url"], data=form["fields"], files={"file": b"posted"}, timeout=10).status_code in (200, 204)
    keys = [copy_key, multipart_key, post_key]
    assert [replication_status(world, bucket, k) for k in keys] == ["PENDING"] * 3
    world.drain()
    for key in keys:
        head = a.head_object(Bucket=bucket, Key=key)
        assert head["ReplicationStatus"] == "COMPLETED", key
        replica = b.head_object(Bucket=scenario.HEALTHY_DESTINATION, Key=key, VersionId=head["VersionId"])
        assert replica["ReplicationStatus"] == "REPLICA" and replica["ETag"] == head["ETag"], key


def test_wrong_principal_account_b_own_id_instead_of_a_fails(world, pending_window):
    a = s3(world, SOURCE)
    key = "monthly report.pdf"
    version = a.put_object(Bucket=scenario.BROKEN_SOURCE, Key=key, Body=b"%PDF")["VersionId"]
    assert replication_status(world, scenario.BROKEN_SOURCE, key, version) == "PENDING"
    world.drain()
    assert replication_status(world, scenario.BROKEN_SOURCE, key, version) == "FAILED"
    assert failure_reason(world, scenario.BROKEN_SOURCE, key) == "DstPutObjectNotPermitted"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        s3(world, DESTINATION).head_object(Bucket=scenario.BROKEN_DESTINATION, Key=key, VersionId=version)
    assert missing.value.response["Error"]["Code"] == "404"


@pytest.mark.parametrize(
    "pair_options, reason",
    [
        ({"create_destination": False}, "DstBucketNotFound"),
        ({"versioned_destination": False}, "DstBucketUnversioned"),
        ({"role_arn": f"arn:aws:iam::{SOURCE.account_id}:role/no-such-role"}, "AssumeRoleNotPermitted"),
        ({"principal": "arn:aws:iam::333333333333:root"}, "DstPutObjectNotPermitted"),
    ],
)
def test_each_destination_problem_fails_with_s3s_reason(world, pair_options, reason):
    source, _ = make_pair(world, **pair_options)
    version = s3(world).put_object(Bucket=source, Key="a.txt", Body=b"a")["VersionId"]
    world.drain()
    assert replication_status(world, source, "a.txt", version) == "FAILED"
    assert failure_reason(world, source, "a.txt") == reason


@pytest.mark.parametrize("principal", [SOURCE.account_id, f"arn:aws:iam::{SOURCE.account_id}:role/{scenario.REPLICATION_ROLE}"])
def test_policy_naming_the_account_id_or_the_role_also_works(world, principal):
    source, destination = make_pair(world, principal=principal)
    version = s3(world).put_object(Bucket=source, Key="b.txt", Body=b"b")["VersionId"]
    world.drain()
    assert replication_status(world, source, "b.txt", version) == "COMPLETED"
    assert replication_status(world, destination, "b.txt", version, DESTINATION) == "REPLICA"


def _filtered_rules(destination):
    target = {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id}
    return [
        {"ID": "docs", "Priority": 2, "Status": "Enabled", "Filter": {"Prefix": "docs/"},
         "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": target},
        {"ID": "tagged", "Priority": 1, "Status": "Enabled",
         "Filter": {"And": {"Prefix": "img/", "Tags": [{"Key": "replicate", "Value": "yes"}]}},
         "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": target},
        {"ID": "off", "Priority": 3, "Status": "Disabled", "Filter": {"Prefix": "tmp/"},
         "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": target},
    ]


def test_rule_filters_decide_which_keys_are_covered(world):
    source, _ = make_pair(world, rules=_filtered_rules)
    a = s3(world)
    a.put_object(Bucket=source, Key="docs/a.txt", Body=b"1")
    a.put_object(Bucket=source, Key="img/a.png", Body=b"2", Tagging="replicate=yes")
    a.put_object(Bucket=source, Key="img/b.png", Body=b"3", Tagging="replicate=no")
    a.put_object(Bucket=source, Key="other/c.txt", Body=b"4")
    a.put_object(Bucket=source, Key="tmp/d.txt", Body=b"5")
    world.drain()
    assert replication_status(world, source, "docs/a.txt") == "COMPLETED"
    assert replication_status(world, source, "img/a.png") == "COMPLETED"
    assert replication_status(world, source, "img/b.png") is None
    assert replication_status(world, source, "other/c.txt") is None
    assert replication_status(world, source, "tmp/d.txt") is None  # the only covering rule is disabled


def test_old_style_rule_prefix_is_honoured(world):
    def v1_rules(destination):
        return [{"ID": "v1", "Status": "Enabled", "Prefix": "logs/", "Destination": {"Bucket": f"arn:aws:s3:::{destination}"}}]

    source, _ = make_pair(world, rules=v1_rules)
    s3(world).put_object(Bucket=source, Key="logs/1", Body=b"1")
    s3(world).put_object(Bucket=source, Key="data/1", Body=b"1")
    world.drain()
    assert replication_status(world, source, "logs/1") == "COMPLETED"
    assert replication_status(world, source, "data/1") is None


def test_objects_written_before_the_rule_have_no_status(world):
    a = s3(world)
    bucket = unique("late-rule")
    a.create_bucket(Bucket=bucket)
    a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    a.put_object(Bucket=bucket, Key="before.txt", Body=b"x")
    assert replication_status(world, bucket, "before.txt") is None


def test_get_bucket_replication_round_trips_the_filter(world):
    source, _ = make_pair(world, rules=_filtered_rules)
    rules = s3(world).get_bucket_replication(Bucket=source)["ReplicationConfiguration"]["Rules"]
    assert [r["ID"] for r in rules] == ["docs", "tagged", "off"]
    assert rules[0]["Filter"] == {"Prefix": "docs/"}
    assert rules[1]["Filter"] == {"And": {"Prefix": "img/", "Tags": [{"Key": "replicate", "Value": "yes"}]}}
    assert [r["Priority"] for r in rules] == [2, 1, 3]
    s3(world).delete_bucket_replication(Bucket=source)
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        s3(world).get_bucket_replication(Bucket=source)
    assert gone.value.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError"


def test_same_account_replication_needs_no_bucket_policy(world):
    a = s3(world)
    source, destination = unique("same-src"), unique("same-dst")
    for bucket in (source, destination):
        a.create_bucket(Bucket=bucket)
        a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    a.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{SOURCE.account_id}:role/{scenario.REPLICATION_ROLE}",
            "Rules": [{"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
                       "DeleteMarkerReplication": {"Status": "Disabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{destination}"}}],
        },
    )
    version = a.put_object(Bucket=source, Key="k", Body=b"k")["VersionId"]
    world.drain()
    assert replication_status(world, destination, "k", version) == "REPLICA"


# --- fault injection -------------------------------------------------------------------------


def _put_healthy(world, key):
    return s3(world).put_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, Body=b"data")["VersionId"]


def test_fault_stay_pending(world):
    world.control("/_world/faults", "POST", {"fault": "stay_pending", "key_regex": "^stuck/"})
    version = _put_healthy(world, "stuck/a.txt")
    world.drain()
    assert replication_status(world, scenario.HEALTHY_SOURCE, "stuck/a.txt", version) == "PENDING"


def test_fault_fail(world):
    world.control("/_world/faults", "POST", {"fault": "fail", "bucket": scenario.HEALTHY_SOURCE, "key_regex": "doomed"})
    version = _put_healthy(world, "doomed.txt")
    world.drain()
    assert replication_status(world, scenario.HEALTHY_SOURCE, "doomed.txt", version) == "FAILED"
    assert failure_reason(world, scenario.HEALTHY_SOURCE, "doomed.txt") == "DstPutObjectNotPermitted"


@pytest.mark.parametrize("fault", ["complete_without_replica", "delete_replica"])
def test_fault_completed_but_replica_missing(world, fault):
    key = unique(fault)
    world.control("/_world/faults", "POST", {"fault": fault, "key_regex": key})
    version = _put_healthy(world, key)
    world.drain()
    assert replication_status(world, scenario.HEALTHY_SOURCE, key, version) == "COMPLETED"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        s3(world, DESTINATION).head_object(Bucket=scenario.HEALTHY_DESTINATION, Key=key, VersionId=version)
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchVersion", "NoSuchKey")


def test_fault_throttle_first_n_matching_requests(world):
    key = unique("hot")
    version = _put_healthy(world, key)
    world.control("/_world/faults", "POST", {"fault": "throttle", "operation": "HeadObject", "key_regex": key, "count": 2})
    client = s3(world, retries=1)
    codes = []
    for _ in range(3):
        try:
            client.head_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, VersionId=version)
            codes.append(200)
        except botocore.exceptions.ClientError as error:
            codes.append(error.response["ResponseMetadata"]["HTTPStatusCode"])
    assert codes == [503, 503, 200]
    # other operations on the same key are untouched
    assert s3(world).get_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)["Body"].read() == b"data"


def test_throttled_requests_succeed_with_sdk_retries(world):
    key = unique("retry")
    _put_healthy(world, key)
    world.control("/_world/faults", "POST", {"fault": "throttle", "operation": "GetObject", "key_regex": key, "count": 2})
    assert s3(world, retries=4).get_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)["Body"].read() == b"data"


def test_bad_fault_definitions_are_rejected_with_a_reason(world):
    assert "unknown fault" in world.control("/_world/faults", "POST", {"fault": "explode"})["error"]
    assert "count" in world.control("/_world/faults", "POST", {"fault": "throttle"})["error"]


# --- request counting --------------------------------------------------------------------------


def test_requests_are_counted_per_operation(world):
    world.control("/_world/stats", "DELETE")
    key = unique("counted")
    _put_healthy(world, key)
    s3(world).head_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)
    s3(world).head_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)
    scenario.client("sts", world.url, SOURCE).get_caller_identity()
    stats = world.control("/_world/stats")
    assert stats["s3"]["HeadObject"] == 2
    assert stats["s3"]["PutObject"] == 1
    assert stats["sts"]["GetCallerIdentity"] == 1


def test_fault_deny_answers_403_for_matching_requests(world):
    key = unique("secret")
    _put_healthy(world, key)
    world.control("/_world/faults", "POST", {"fault": "deny", "operation": "HeadObject", "key_regex": key})
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            s3(world).head_object(Bucket=scenario.HEALTHY_SOURCE, Key=key)
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _drain_queue(world, queue_name):
    sqs = scenario.client("sqs", world.url, SOURCE)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_s3_notifications_look_like_s3s(world):
    _drain_queue(world, scenario.EVENT_QUEUE)
    key = "shots/Screen Shot 1+1 é.png"
    version = _put_healthy(world, key)
    records = [r for body in _drain_queue(world, scenario.EVENT_QUEUE) for r in body.get("Records", [])]
    created = [r for r in records if r["eventName"] == "ObjectCreated:Put"]
    assert len(created) == 1
    record = created[0]
    assert record["s3"]["object"]["key"] == "shots/Screen+Shot+1%2B1+%C3%A9.png"
    assert record["s3"]["object"]["versionId"] == version
    assert record["userIdentity"]["principalId"] == f"AWS:{SOURCE.account_id}"
    assert "sourceIPAddress" in record["requestParameters"]


def test_replication_failures_are_notified_with_s3s_reason(world):
    _drain_queue(world, scenario.EVENT_QUEUE)
    version = s3(world).put_object(Bucket=scenario.BROKEN_SOURCE, Key="q3 report.pdf", Body=b"%PDF")["VersionId"]
    world.drain()
    records = [r for body in _drain_queue(world, scenario.EVENT_QUEUE) for r in body.get("Records", [])]
    failures = [r for r in records if r["eventName"] == "Replication:OperationFailedReplication"]
    assert len(failures) == 1
    assert failures[0]["s3"]["object"]["versionId"] == version
    data = failures[0]["replicationEventData"]
    assert data["failureReason"] == "DstPutObjectNotPermitted"
    assert data["destinationBucket"] == f"arn:aws:s3:::{scenario.BROKEN_DESTINATION}"


def test_metric_statistics_match_the_exact_dimension_set_like_cloudwatch(world):
    cloudwatch = scenario.client("cloudwatch", world.url, SOURCE)
    pair = [{"Name": "SourceBucket", "Value": "s"}, {"Name": "DestinationBucket", "Value": "d"}]
    source_only = [{"Name": "SourceBucket", "Value": "s"}]
    cloudwatch.put_metric_data(
        Namespace="WorldTest",
        MetricData=[
            {"MetricName": "Missing", "Value": 1, "Unit": "Count", "Dimensions": pair},
            {"MetricName": "Missing", "Value": 1, "Unit": "Count", "Dimensions": source_only},
        ],
    )
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    for dimensions in (pair, source_only):
        points = cloudwatch.get_metric_statistics(
            Namespace="WorldTest", MetricName="Missing", Dimensions=dimensions, Statistics=["Sum"], Period=60,
            StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
        )["Datapoints"]
        assert sum(p["Sum"] for p in points) == 1.0


@pytest.mark.parametrize(
    "service, call, fault, status, code",
    [
        ("sts", lambda c: c.get_caller_identity(), "deny", 403, "AccessDenied"),
        # boto3's CloudWatch speaks a newer protocol than the query XML answered here: status only.
        ("cloudwatch", lambda c: c.put_metric_data(Namespace="N", MetricData=[{"MetricName": "M", "Value": 1}]), "unavailable", 503, None),
        ("sns", lambda c: c.list_topics(), "throttle", 400, "Throttling"),
    ],
)
def test_request_faults_reach_other_services_with_their_error_shape(world, service, call, fault, status, code):
    operation = {"sts": "GetCallerIdentity", "cloudwatch": "PutMetricData", "sns": "ListTopics"}[service]
    world.control("/_world/faults", "POST", {"fault": fault, "operation": operation, "count": 1})
    client = boto3.client(
        service, endpoint_url=world.url, region_name=REGION,
        aws_access_key_id=SOURCE.access_key_id, aws_secret_access_key=SOURCE.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(client)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if code:
        assert failed.value.response["Error"]["Code"] == code
    call(client)  # the fault is used up


def test_bulk_put_creates_replicated_objects_fast(world, pending_window):
    created = world.control(f"/_world/bulk-put?bucket={scenario.HEALTHY_SOURCE}&prefix=bulk/&count=50", "POST")
    assert len(created) == 50
    assert replication_status(world, scenario.HEALTHY_SOURCE, created[0]["key"], created[0]["version_id"]) == "PENDING"
    world.drain()
    last = created[-1]
    assert replication_status(world, scenario.HEALTHY_DESTINATION, last["key"], last["version_id"], DESTINATION) == "REPLICA"


def _raw_exchange(world, requests_bytes: bytes, expected_responses: int) -> list[bytes]:
    """Sends raw HTTP/1.1 on ONE socket and returns the response heads it got back, in order."""
    import socket
    import urllib.parse

    address = urllib.parse.urlsplit(world.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(requests_bytes)
        received = b""
        heads: list[bytes] = []
        while len(heads) < expected_responses:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
            while b"\r\n\r\n" in received and len(heads) < expected_responses:
                head, received = received.split(b"\r\n\r\n", 1)
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                while len(received) < length:
                    received += connection.recv(65536)
                received = received[length:]
                heads.append(head)
        return heads


def test_connections_are_kept_alive_like_aws_endpoints(world):
    """One socket carries several requests (S3 keeps connections open; Werkzeug alone closed each)."""
    session = requests.Session()
    for _ in range(3):
        response = session.get(world.url + "/_world/stats")
        assert response.status_code == 200
        assert response.headers.get("Connection", "").lower() != "close"
    # A client that must send a body first: the body is read completely, the next request on the
    # same socket is answered (nothing of the body is taken for the next request line).
    body = b"<CreateBucketConfiguration/>"
    raw = (
        f"GET /_world/stats HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        + b"GET /_world/stats HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"GET /_world/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    heads = _raw_exchange(world, raw, 3)
    assert [h.split(b"\r\n")[0] for h in heads] == [b"HTTP/1.1 200 OK"] * 3, heads
    assert b"connection: close" not in heads[0].lower()
    assert b"connection: close" in heads[2].lower(), "a client's Connection: close is honoured"


def test_chunked_uploads_still_work_and_then_close(world):
    bucket = scenario.HEALTHY_SOURCE
    key = unique("chunked")
    def chunks():
        yield b"hello "
        yield b"world"
    client = s3(world)
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    response = requests.put(url, data=chunks())
    assert response.status_code == 200, response.text
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello world"
