"""CloudWatch alarms in the local world change state as CloudWatch's would: the alarms of
infra/auditor.yaml (read from the template), period by period, M out of N, missing data as the
alarm says. Evaluated at a chosen instant, so every test is deterministic."""

from __future__ import annotations

import json
import math
import time
import uuid

import pytest
import requests

from world import alarms, scenario
from world.accounts import DESTINATION, SOURCE

PERIOD_TEST_NAMESPACE = "WorldAlarmTest"


def template_alarm_properties() -> dict[str, dict]:
    """The alarms' raw properties as written in infra/auditor.yaml (what the evaluator must honour)."""
    template = alarms.load_template(scenario.AUDITOR_TEMPLATE)
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def template_alarms(source_bucket: str, stack: str) -> dict[str, dict]:
    """PutMetricAlarm arguments per logical id, for one auditor stack watching `source_bucket`."""
    specs = alarms.alarms_from_template(
        scenario.AUDITOR_TEMPLATE,
        {"SourceBucketName": source_bucket, "DestinationAccountId": DESTINATION.account_id, "ExternalId": "x-id"},
        stack_name=stack,
    )
    template = alarms.load_template(scenario.AUDITOR_TEMPLATE)
    by_logical = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            suffix = resource["Properties"]["AlarmName"]["Fn::Sub"].replace("${AWS::StackName}", stack)
            [spec] = [s for s in specs if s["AlarmName"] == suffix]
            by_logical[logical] = spec
    return by_logical


def aligned_past_instant(period: int = 300) -> float:
    """A period start an hour ago: datapoints there never race the wall clock."""
    return math.floor((time.time() - 3600) / 3600) * 3600 + 0.0


def evaluate(world, prefix: str, now: float) -> dict[str, dict]:
    board = requests.get(f"{world.url}/_world/alarms", params={"evaluate": "1", "now": str(now), "prefix": prefix}, timeout=30).json()
    return {entry["name"]: entry for entry in board}


def put(world, namespace, name, dimensions, value, at: float) -> None:
    scenario.client("cloudwatch", world.url, SOURCE).put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": name, "Value": value, "Unit": "Count", "Dimensions": dimensions, "Timestamp": at}],
    )


def create(world, specs) -> None:
    cloudwatch = scenario.client("cloudwatch", world.url, SOURCE)
    for spec in specs:
        cloudwatch.put_metric_alarm(**spec)


# --- the template is read, not copied ---------------------------------------------------------


def test_every_template_alarm_is_created_with_the_templates_own_values():
    raw = template_alarm_properties()
    specs = template_alarms("bucket-under-test", "stack")
    assert set(specs) == set(raw)
    for logical, props in raw.items():
        spec = specs[logical]
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold"):
            if key in props and not isinstance(props[key], dict):
                assert float(spec[key]) == float(props[key]), (logical, key)
        for key in ("Statistic", "ComparisonOperator", "TreatMissingData", "MetricName"):
            if key in props:
                assert spec[key] == props[key], (logical, key)
        if props.get("Namespace") == {"Ref": "MetricsNamespace"}:
            assert spec["Namespace"] == "S3ReplicationAuditor"  # the parameter's Default
            assert spec["Dimensions"] == [{"Name": "SourceBucket", "Value": "bucket-under-test"}]
        assert spec["AlarmName"].startswith("stack-")


def test_a_required_parameter_the_alarms_need_must_be_given():
    with pytest.raises(alarms.TemplateError, match="SourceBucketName"):
        alarms.alarms_from_template(scenario.AUDITOR_TEMPLATE, {"DestinationAccountId": "222222222222"})


def test_the_classic_world_shows_the_templates_alarms_through_describe_alarms(world):
    cloudwatch = scenario.client("cloudwatch", world.url, SOURCE)
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms(MaxRecords=100)["MetricAlarms"]}
    for source in (scenario.HEALTHY_SOURCE, scenario.BROKEN_SOURCE):
        expected = template_alarms(source, scenario.auditor_stack_name(source))
        assert {spec["AlarmName"] for spec in expected.values()} <= names


# --- evaluation through the world ---------------------------------------------------------------


def test_a_failed_replication_datapoint_puts_the_failed_alarm_in_alarm_with_cloudwatchs_reason(world):
    bucket, stack = f"src-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    specs = template_alarms(bucket, stack)
    create(world, specs.values())
    failed = specs["FailedAlarm"]
    start = aligned_past_instant(failed["Period"])
    now = start + failed["Period"] - 1  # late in the period: the datapoint is in the latest one

    before = evaluate(world, stack, now)[failed["AlarmName"]]
    assert before["state"] == "OK"  # the template treats missing data as not breaching

    put(world, failed["Namespace"], failed["MetricName"], failed["Dimensions"], failed["Threshold"] + 2, start + 30)
    board = evaluate(world, stack, now)
    entry = board[failed["AlarmName"]]
    assert entry["state"] == "ALARM"
    stamp = time.strftime("%d/%m/%y %H:%M:%S", time.gmtime(start))
    if failed.get("DatapointsToAlarm", failed["EvaluationPeriods"]) == 1 and failed["EvaluationPeriods"] == 1:
        assert entry["reason"] == (
            f"Threshold Crossed: 1 datapoint [{failed['Threshold'] + 2!r} ({stamp})] "
            f"was greater than or equal to the threshold ({failed['Threshold']!r})."
        )
    # The same state, reason and data through the API a person's tools use.
    [described] = scenario.client("cloudwatch", world.url, SOURCE).describe_alarms(AlarmNames=[failed["AlarmName"]])["MetricAlarms"]
    assert described["StateValue"] == "ALARM"
    assert described["StateReason"] == entry["reason"]
    assert json.loads(described["StateReasonData"])["evaluatedDatapoints"][0]["value"] == failed["Threshold"] + 2
    # Other pairs' alarms and other verdicts stay quiet.
    assert board[specs["MissingAlarm"]["AlarmName"]]["state"] == "OK"


@pytest.mark.parametrize("logical", sorted(template_alarm_properties()))
def test_a_single_blip_fires_a_template_alarm_only_when_the_template_says_one_datapoint_is_enough(world, logical):
    bucket, stack = f"src-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    spec = template_alarms(bucket, stack)[logical]
    if "Metrics" in spec:
        pytest.skip(f"{logical} uses metric math, which the local world does not evaluate")
    create(world, [spec])
    period = spec["Period"]
    start = aligned_past_instant(period)
    put(world, spec["Namespace"], spec["MetricName"], spec["Dimensions"], spec["Threshold"], start + 1)
    needed = spec.get("DatapointsToAlarm", spec["EvaluationPeriods"])
    # Evaluate in the blip's period and in each of the following ones it would still be part of.
    for later in range(spec["EvaluationPeriods"]):
        state = evaluate(world, spec["AlarmName"], start + later * period + 1)[spec["AlarmName"]]["state"]
        if spec.get("TreatMissingData") in ("notBreaching", "missing", "ignore", None) and needed > 1:
            assert state != "ALARM", f"{logical}: one blip must not page (needs {needed} datapoints)"
        if needed == 1 and later == 0:
            assert state == "ALARM", f"{logical}: one datapoint at the threshold must page"


def test_m_out_of_n_needs_m_breaching_periods(world):
    name = f"m-of-n-{uuid.uuid4().hex[:8]}"
    dims = [{"Name": "SourceBucket", "Value": name}]
    create(world, [dict(
        AlarmName=name, Namespace=PERIOD_TEST_NAMESPACE, MetricName="AuditErrors", Dimensions=dims, Statistic="Sum",
        Period=300, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )])
    start = aligned_past_instant()
    put(world, PERIOD_TEST_NAMESPACE, "AuditErrors", dims, 1, start + 10)  # a blip SQS will retry
    assert evaluate(world, name, start + 900)[name]["state"] == "OK"
    put(world, PERIOD_TEST_NAMESPACE, "AuditErrors", dims, 4, start + 610)  # still failing two periods later
    entry = evaluate(world, name, start + 900)[name]
    assert entry["state"] == "ALARM"
    assert entry["reason"].startswith("Threshold Crossed: 2 out of the last 3 datapoints [4.0 (")
    assert entry["reason"].endswith("(minimum 2 datapoints for OK -> ALARM transition).")
    # Three periods later the blips have left the evaluation range: back to OK.
    assert evaluate(world, name, start + 1800)[name]["state"] == "OK"


@pytest.mark.parametrize(
    "treatment, expected",
    [("missing", "INSUFFICIENT_DATA"), ("notBreaching", "OK"), ("breaching", "ALARM"), ("ignore", "INSUFFICIENT_DATA")],
)
def test_an_alarm_without_data_follows_its_treat_missing_data(world, treatment, expected):
    name = f"missing-{treatment}-{uuid.uuid4().hex[:8]}"
    create(world, [dict(
        AlarmName=name, Namespace=PERIOD_TEST_NAMESPACE, MetricName="Failed", Dimensions=[{"Name": "SourceBucket", "Value": name}],
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData=treatment,
    )])
    entry = evaluate(world, name, aligned_past_instant())[name]
    assert entry["state"] == expected  # `ignore` keeps the initial INSUFFICIENT_DATA
    if treatment == "notBreaching":
        assert entry["reason"] == "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."


def test_ignore_keeps_the_alarm_state_when_data_stops(world):
    name = f"ignore-{uuid.uuid4().hex[:8]}"
    dims = [{"Name": "SourceBucket", "Value": name}]
    create(world, [dict(
        AlarmName=name, Namespace=PERIOD_TEST_NAMESPACE, MetricName="Failed", Dimensions=dims, Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore",
    )])
    start = aligned_past_instant()
    put(world, PERIOD_TEST_NAMESPACE, "Failed", dims, 2, start + 5)
    assert evaluate(world, name, start + 30)[name]["state"] == "ALARM"
    assert evaluate(world, name, start + 3600)[name]["state"] == "ALARM"  # no data since: kept


def test_dimensions_must_match_exactly(world):
    name = f"dims-{uuid.uuid4().hex[:8]}"
    create(world, [dict(
        AlarmName=name, Namespace=PERIOD_TEST_NAMESPACE, MetricName="Failed", Dimensions=[{"Name": "SourceBucket", "Value": name}],
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )])
    start = aligned_past_instant()
    pair = [{"Name": "SourceBucket", "Value": name}, {"Name": "DestinationBucket", "Value": "d"}]
    put(world, PERIOD_TEST_NAMESPACE, "Failed", pair, 5, start + 5)  # per-pair datapoint: another metric
    assert evaluate(world, name, start + 30)[name]["state"] == "OK"


def test_emf_lines_become_metrics_the_alarms_see(world):
    bucket, stack = f"src-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    specs = template_alarms(bucket, stack)
    create(world, specs.values())
    missing = specs["MissingAlarm"]
    start = aligned_past_instant(missing["Period"])
    line = {
        "_aws": {
            "Timestamp": int((start + 42) * 1000),
            "CloudWatchMetrics": [{
                "Namespace": missing["Namespace"],
                "Dimensions": [["SourceBucket", "DestinationBucket"], ["SourceBucket"]],
                "Metrics": [{"Name": "Missing", "Unit": "Count"}, {"Name": "Failed", "Unit": "Count"}],
            }],
        },
        "SourceBucket": bucket, "DestinationBucket": "dst", "Missing": missing["Threshold"], "Failed": 0,
    }
    body = json.dumps(line) + "\n" + '{"level":"INFO","message":"audit complete"}\n'
    answer = requests.post(f"{world.url}/_world/emf", data=body.encode(), timeout=30).json()
    assert answer == {"metrics": 4, "log_lines": 1, "rejected": []}
    board = evaluate(world, stack, start + 60)
    assert board[missing["AlarmName"]]["state"] == "ALARM"
    assert board[specs["FailedAlarm"]["AlarmName"]]["state"] == "OK"


def test_a_malformed_emf_line_is_rejected_with_a_reason(world):
    bad = json.dumps({"_aws": {"CloudWatchMetrics": []}, "X": 1})
    response = requests.post(f"{world.url}/_world/emf", data=bad.encode(), timeout=30)
    assert response.status_code == 400
    assert "Timestamp" in response.json()["rejected"][0]["error"]


def test_metric_math_alarms_are_listed_but_not_evaluated(world):
    name = f"math-{uuid.uuid4().hex[:8]}"
    scenario.client("cloudwatch", world.url, SOURCE).put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Metrics=[
            {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
            {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True},
        ],
    )
    entry = evaluate(world, name, aligned_past_instant())[name]
    assert entry["evaluation"]["supported"] is False and entry["state"] == "INSUFFICIENT_DATA"


# --- the decision table itself (no server) ------------------------------------------------------


def config(**overrides) -> alarms.AlarmConfig:
    values = dict(
        name="a", namespace="N", metric_name="M", dimensions=frozenset(), statistic="Sum", period=60,
        evaluation_periods=3, datapoints_to_alarm=3, threshold=1.0, comparison_operator="GreaterThanThreshold",
        treat_missing_data="missing",
    )
    values.update(overrides)
    return alarms.AlarmConfig(**values)


def series(*values):
    """Period values newest first, one minute apart (None = missing)."""
    return [(6000.0 - 60 * i, v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    "values, treatment, expected",
    [
        # Enough real datapoints in the evaluation range: the missing ones do not matter.
        ((0, None, 2, None, 2), "missing", "OK"),
        ((0, None, 2, None, 2), "breaching", "OK"),
        ((2, None, 2, 2, None), "notBreaching", "ALARM"),
        # Too few: missing datapoints are filled per the treatment, as few as needed.
        ((None,) * 5, "missing", "INSUFFICIENT_DATA"),
        ((None,) * 5, "breaching", "ALARM"),
        ((None,) * 5, "notBreaching", "OK"),
        ((None,) * 5, "ignore", None),
        ((0, None, None, None, None), "missing", "OK"),  # one good datapoint already rules ALARM out
        ((2, None, None, None, None), "missing", "INSUFFICIENT_DATA"),
        ((2, None, None, None, None), "breaching", "ALARM"),
        ((2, None, None, None, None), "notBreaching", "OK"),
    ],
)
def test_missing_data_decision_table(values, treatment, expected):
    decision = alarms.decide(config(treat_missing_data=treatment), series(*values), 6000.0)
    assert decision.state == expected


def test_statistics_are_computed_per_period():
    class Datum:
        def __init__(self, value, at):
            self.namespace, self.name, self.dimensions, self.unit = "N", "M", [], None
            self.value, self.timestamp = value, at

    data = [Datum(1.0, 6000.0), Datum(5.0, 6030.0), Datum(3.0, 5990.0)]
    for statistic, expected in [("Sum", 6.0), ("Maximum", 5.0), ("Minimum", 1.0), ("Average", 3.0), ("SampleCount", 2.0)]:
        values = alarms.period_values(config(statistic=statistic, evaluation_periods=1), data, 6059.0)
        assert values[0] == (6000.0, expected)
        assert values[1] == (5940.0, {"Sum": 3.0, "Maximum": 3.0, "Minimum": 3.0, "Average": 3.0, "SampleCount": 1.0}[statistic])
