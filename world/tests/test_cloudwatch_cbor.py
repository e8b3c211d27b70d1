"""CloudWatch over rpc-v2-cbor, as current AWS SDKs speak it: answered from moto's backend with
the response shapes the Smithy protocol specifies (an empty output is an empty CBOR map)."""

from __future__ import annotations

import datetime
import gzip

import cbor2
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from world import scenario
from world.accounts import SOURCE

from .test_world import unique


def call(world, operation: str, payload: dict, secret: str = SOURCE.secret_access_key, compress: bool = False):
    body = cbor2.dumps(payload, datetime_as_timestamp=True, timezone=datetime.timezone.utc)
    headers = {"Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    request = AWSRequest(
        method="POST",
        url=f"{world.url}/service/GraniteServiceVersion20100801/operation/{operation}",
        data=body,
        headers=headers,
    )
    SigV4Auth(Credentials(SOURCE.access_key_id, secret), "monitoring", "us-east-1").add_auth(request)
    return requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)


def test_put_metric_data_answers_an_empty_cbor_map_and_statistics_read_it_back(world):
    namespace = unique("ns")
    now = datetime.datetime.now(datetime.timezone.utc)
    # Large PutMetricData bodies arrive gzip-compressed (the SDKs' request compression).
    put = call(world, "PutMetricData", compress=True, payload={"Namespace": namespace, "MetricData": [
        {"MetricName": "Failed", "Value": 3.0, "Unit": "Count", "Timestamp": now,
         "Dimensions": [{"Name": "SourceBucket", "Value": "acme"}]},
    ]})
    assert put.status_code == 200
    assert put.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(put.content) == {}
    stats = call(world, "GetMetricStatistics", {
        "Namespace": namespace, "MetricName": "Failed", "Dimensions": [{"Name": "SourceBucket", "Value": "acme"}],
        "StartTime": now - datetime.timedelta(minutes=5), "EndTime": now + datetime.timedelta(minutes=5),
        "Period": 60, "Statistics": ["Sum", "SampleCount"],
    })
    answer = cbor2.loads(stats.content)
    assert answer["Label"] == "Failed"
    assert [(p["Sum"], p["SampleCount"]) for p in answer["Datapoints"]] == [(3.0, 1.0)]
    # The same datapoint, read by boto3 (answered by moto itself): one CloudWatch, two protocols.
    read = scenario.client("cloudwatch", world.url, SOURCE).get_metric_statistics(
        Namespace=namespace, MetricName="Failed", Dimensions=[{"Name": "SourceBucket", "Value": "acme"}],
        StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
        Period=60, Statistics=["Sum"],
    )
    assert [p["Sum"] for p in read["Datapoints"]] == [3.0]


def test_a_malformed_body_is_a_protocol_error_and_a_wrong_signature_is_refused(world):
    bad = call(world, "PutMetricData", {"Namespace": "x", "MetricData": [{"Value": 1.0}]})
    assert bad.status_code == 400
    assert "__type" in cbor2.loads(bad.content)
    assert call(world, "PutMetricData", {"Namespace": "x"}, secret="wrong").status_code == 403
