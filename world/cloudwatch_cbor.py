"""CloudWatch over the Smithy RPC v2 CBOR protocol, which current AWS SDKs speak and moto does not.

AWS SDKs released since CloudWatch adopted it (aws-sdk-cloudwatch 1.100 and later for Rust) send
`POST /service/GraniteServiceVersion20100801/operation/<Operation>` with `smithy-protocol:
rpc-v2-cbor` and a CBOR body. moto 5.2 answers boto3's CBOR requests, but answers PutMetricData
with an empty body, where AWS answers an empty CBOR map and the Rust SDK's deserializer insists
on one ("expected map"). This module answers the operations the auditor and its tests use —
PutMetricData and GetMetricStatistics — from moto's own CloudWatch backend (the same metrics that query-protocol clients and the alarm
evaluator see), following the protocol as the Smithy specification states it ("RPC v2 CBOR
protocol"): the input and output structures as CBOR maps, timestamps as CBOR tag 1 (epoch
seconds), errors as HTTP 400 with a map holding `__type` and `message`, plus the
`x-amzn-query-error` header of awsQuery-compatible services.
"""

from __future__ import annotations

import datetime
import gzip

import cbor2
from moto.cloudwatch.models import cloudwatch_backends

PATH_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
ANSWERED = ("PutMetricData", "GetMetricStatistics")
SHAPE_NAMESPACE = "com.amazonaws.cloudwatch#"


def is_cbor_request(environ) -> bool:
    return environ.get("PATH_INFO", "").startswith(PATH_PREFIX)


def answers(environ) -> bool:
    """Whether this module answers the request (else moto does)."""
    return is_cbor_request(environ) and environ["PATH_INFO"][len(PATH_PREFIX):] in ANSWERED


def _reply(start_response, status: str, payload: dict, extra_headers=()) -> list[bytes]:
    body = cbor2.dumps(payload, datetime_as_timestamp=True, timezone=datetime.timezone.utc)
    headers = [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("Content-Length", str(len(body))),
        *extra_headers,
    ]
    start_response(status, headers)
    return [body]


def _error(start_response, code: str, message: str) -> list[bytes]:
    return _reply(
        start_response,
        "400 Bad Request",
        {"__type": SHAPE_NAMESPACE + code, "message": message},
        [("x-amzn-query-error", f"{code};Sender")],
    )


def _utc(value) -> datetime.datetime:
    """A naive UTC datetime, as moto keeps every CloudWatch timestamp (mixing aware and naive
    ones breaks its comparisons)."""
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    else:
        aware = datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
    return aware.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def handle(environ, start_response, body: bytes, account_id: str, region: str) -> list[bytes]:
    operation = environ["PATH_INFO"][len(PATH_PREFIX):]
    if "gzip" in environ.get("HTTP_CONTENT_ENCODING", ""):
        # SDKs compress large PutMetricData bodies (CloudWatch supports request compression).
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as error:
            return _error(start_response, "SerializationException", f"the request body is not gzip: {error}")
    try:
        request = cbor2.loads(body) if body else {}
    except (cbor2.CBORDecodeError, ValueError) as error:
        return _error(start_response, "SerializationException", f"the request body is not CBOR: {error}")
    backend = cloudwatch_backends[account_id][region]
    if operation == "PutMetricData":
        data = []
        for datum in request.get("MetricData") or []:
            datum = dict(datum)
            if "Timestamp" in datum:
                datum["Timestamp"] = _utc(datum["Timestamp"])
            data.append(datum)
        try:
            backend.put_metric_data(request.get("Namespace"), data)
        except Exception as error:  # moto's validation errors carry the AWS code and message
            return _error(start_response, getattr(error, "error_type", "InvalidParameterValue"), str(error))
        return _reply(start_response, "200 OK", {})
    if operation == "GetMetricStatistics":
        statistics = request.get("Statistics") or []
        result = backend.get_metric_statistics(
            request.get("Namespace"),
            request.get("MetricName"),
            _utc(request["StartTime"]),
            _utc(request["EndTime"]),
            int(request.get("Period", 60)),
            statistics,
            request.get("Dimensions") or [],
            request.get("Unit"),
        )
        datapoints = []
        for point in result:
            entry = {"Timestamp": _utc(point.timestamp)}
            for stat in statistics:
                value = point.get_statistics_for_type(stat)
                if value is not None:
                    entry[stat] = float(value)
            if point.unit:
                entry["Unit"] = point.unit
            datapoints.append(entry)
        return _reply(start_response, "200 OK", {"Label": request.get("MetricName"), "Datapoints": datapoints})
    raise ValueError(f"{operation} is answered by moto")
