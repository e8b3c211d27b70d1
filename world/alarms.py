"""CloudWatch alarms that change state in the local world, the way CloudWatch evaluates them.

moto stores alarms (PutMetricAlarm, DescribeAlarms) but never evaluates them. This module:

- reads the alarms of a CloudFormation/SAM template (`infra/auditor.yaml`) with its intrinsic
  functions resolved — parameters from the caller or their `Default`, pseudo parameters, `!Sub`,
  `!Ref`, `!GetAtt`, `!If` and conditions — and turns each `AWS::CloudWatch::Alarm` into the
  arguments of PutMetricAlarm (`alarms_from_template`). Values are never copied: whatever the
  template says is what the world evaluates;
- evaluates every metric alarm held by moto at a given instant (`AlarmEvaluator.evaluate`), from
  the datapoints moto stores (PutMetricData, or Embedded Metric Format lines ingested with
  `ingest_emf`, as CloudWatch Logs would extract them);
- sets the state and a CloudWatch-like StateReason / StateReasonData on moto's alarm objects, so
  DescribeAlarms shows them.

Evaluation follows "Using Amazon CloudWatch alarms" and "Configuring how CloudWatch alarms treat
missing data" in the CloudWatch User Guide:
- periods are aligned to multiples of `Period` since the epoch; the most recent evaluated period
  is the one containing `now`;
- the metric is identified by namespace, name and the *exact* dimension set (and Unit, if set);
  each period's statistic (SampleCount, Sum, Average, Minimum, Maximum) is compared with the
  threshold;
- "M out of N": ALARM when at least DatapointsToAlarm (default EvaluationPeriods) of the last
  EvaluationPeriods datapoints breach;
- CloudWatch retrieves more periods than EvaluationPeriods (the evaluation range). When enough
  real datapoints exist in that range, the most recent real ones are evaluated and missing ones
  do not matter; otherwise missing datapoints are filled per TreatMissingData, as few as needed:
  `breaching` / `notBreaching` count them as such; `ignore` keeps the current state when the
  real datapoints cannot decide; `missing` goes to INSUFFICIENT_DATA when they cannot (always
  when no datapoint exists at all). The guide does not state the range's length for every
  period; the world uses EvaluationPeriods + EXTRA_PERIODS;
- like CloudWatch, the state reason changes only when the state does.

Not evaluated (reported on the board as unsupported, state left alone): metric math alarms
(`Metrics`), percentile statistics (`ExtendedStatistic`), anomaly-detection operators, composite
alarms. Alarm actions are not executed (no SNS message on a transition).
"""

from __future__ import annotations

import datetime
import json
import math
import re
import threading
from dataclasses import dataclass, field

import yaml

EXTRA_PERIODS = 2
INITIAL_REASON = "Unchecked: Initial alarm creation"

_OPERATORS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")


# --- the template -----------------------------------------------------------------------------


class TemplateError(ValueError):
    """The template cannot be turned into alarms (unknown parameter, unsupported intrinsic)."""


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


class _NoValue:
    """AWS::NoValue: the property or list item disappears."""


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")

# Ref of these resource types yields an ARN or URL, built from the name CloudFormation gives them.
_REF_BY_TYPE = {
    "AWS::SNS::Topic": ("TopicName", "arn:{partition}:sns:{region}:{account}:{name}"),
    "AWS::SQS::Queue": ("QueueName", "https://sqs.{region}.amazonaws.com/{account}/{name}"),
}
_NAME_PROPERTY = {
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


class _Stack:
    """Resolves intrinsic functions the way CloudFormation would for one stack."""

    def __init__(self, template: dict, parameters: dict, stack_name: str, account_id: str, region: str, physical_ids: dict):
        self.template = template
        self.resources = template.get("Resources", {})
        self.physical_ids = physical_ids
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise TemplateError(f"the template declares no parameter {', '.join(sorted(unknown))}")
        self.parameters = {}
        for name, spec in declared.items():
            if name in parameters:
                self.parameters[name] = str(parameters[name])
            elif "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            try:
                self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
            except KeyError as missing:
                raise TemplateError(f"unknown condition {name}") from missing
        return self._conditions[name]

    def ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Parameters", {}):
            raise TemplateError(f"parameter {name} has no Default: pass a value for it")
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name not in self.resources:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        kind = self.resources[name]["Type"]
        physical = self._physical_name(name)
        if kind in _REF_BY_TYPE:
            return _REF_BY_TYPE[kind][1].format(partition="aws", region=self.pseudo["AWS::Region"], account=self.pseudo["AWS::AccountId"], name=physical)
        return physical

    def _physical_name(self, logical: str) -> str:
        resource = self.resources[logical]
        prop = _NAME_PROPERTY.get(resource["Type"])
        if prop and prop in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"][prop]))
        return f"{self.pseudo['AWS::StackName']}-{logical}"

    def get_att(self, logical: str, attribute: str):
        key = f"{logical}.{attribute}"
        if key in self.physical_ids:
            return self.physical_ids[key]
        if logical not in self.resources:
            raise TemplateError(f"!GetAtt {key}: no such resource")
        kind = self.resources[logical]["Type"]
        name = self._physical_name(logical)
        region, account = self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
        if attribute in ("QueueName", "TopicName", "Name"):
            return name
        if attribute == "Arn":
            service = {"AWS::SQS::Queue": "sqs", "AWS::SNS::Topic": "sns", "AWS::KMS::Key": "kms"}.get(kind)
            if service:
                return f"arn:aws:{service}:{region}:{account}:{name}"
        raise TemplateError(f"!GetAtt {key} is not modelled by the local world: pass it in physical_ids")

    def sub(self, text: str, variables: dict) -> str:
        def replace(match: re.Match) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(self.resolve(variables[expression]))
            if "." in expression and not expression.startswith("AWS::"):
                return str(self.get_att(*expression.split(".", 1)))
            return str(self.ref(expression))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value):
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, argument):
        if name == "Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            return self.sub(text, variables)
        if name == "GetAtt":
            return self.get_att(argument[0], argument[1])
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = (self.resolve(v) for v in argument)
            return str(left) == str(right)
        if name == "Not":
            return not self.resolve(argument[0])
        if name == "And":
            return all(self.resolve(v) for v in argument)
        if name == "Or":
            return any(self.resolve(v) for v in argument)
        if name == "Join":
            separator, items = argument
            return separator.join(str(v) for v in self.resolve(items))
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if name == "FindInMap":
            mapping, top, second = (self.resolve(v) for v in argument)
            return self.template["Mappings"][mapping][top][second]
        raise TemplateError(f"Fn::{name} is not modelled by the local world")


_INT_PROPERTIES = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
_ALARM_PROPERTIES = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
)


def alarms_from_template(
    path: str,
    parameters: dict | None = None,
    stack_name: str = "replication-auditor",
    account_id: str = "111111111111",
    region: str = "us-east-1",
    physical_ids: dict | None = None,
) -> list[dict]:
    """PutMetricAlarm arguments (boto3 names) for every alarm the template would create.

    `parameters` override the template's Defaults (parameters without Default must be given when
    an alarm uses them); `physical_ids` names resources as deployed (`{"AlertTopic": arn,
    "DeadLetterQueue.QueueName": "..."}`); otherwise names are derived from the stack name.
    """
    template = load_template(path)
    stack = _Stack(template, parameters or {}, stack_name, account_id, region, physical_ids or {})
    alarms = []
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        if "Condition" in resource and not stack.condition(resource["Condition"]):
            continue
        props = resource.get("Properties", {})
        arguments = {key: stack.resolve(props[key]) for key in _ALARM_PROPERTIES if key in props}
        arguments.setdefault("AlarmName", f"{stack_name}-{logical}")
        for key in _INT_PROPERTIES:
            if key in arguments:
                arguments[key] = int(arguments[key])
        if "Threshold" in arguments:
            arguments["Threshold"] = float(arguments["Threshold"])
        if "ActionsEnabled" in arguments:
            arguments["ActionsEnabled"] = str(arguments["ActionsEnabled"]).lower() == "true"
        alarms.append(arguments)
    return alarms


# --- Embedded Metric Format -------------------------------------------------------------------


class EmfError(ValueError):
    """A line claims to be EMF (`_aws` present) but is not valid EMF."""


def emf_metric_data(line: str) -> list[tuple[str, dict]] | None:
    """(namespace, PutMetricData datum) for every metric one log line carries.

    None for an ordinary log line (not JSON, or no `_aws` member): CloudWatch Logs keeps those as
    logs. Follows the "Embedded metric format specification" in the CloudWatch User Guide: each
    dimension set of a directive yields its own metric; a metric whose member is absent is skipped.
    """
    try:
        document = json.loads(line)
    except ValueError:
        return None
    if not isinstance(document, dict) or "_aws" not in document:
        return None
    metadata = document["_aws"]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("Timestamp"), (int, float)):
        raise EmfError("_aws.Timestamp (milliseconds since the epoch) is required")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be a list")
    timestamp = datetime.datetime.fromtimestamp(metadata["Timestamp"] / 1000, datetime.timezone.utc).replace(tzinfo=None)
    out = []
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not namespace:
            raise EmfError("every directive needs a Namespace")
        for dimension_set in directive.get("Dimensions", [[]]):
            dimensions = []
            for name in dimension_set:
                if not isinstance(document.get(name), str):
                    raise EmfError(f"dimension {name} must be a string member of the log line")
                dimensions.append({"Name": name, "Value": document[name]})
            for metric in directive.get("Metrics", []):
                name = metric.get("Name")
                if name not in document:
                    continue
                value = document[name]
                datum = {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp}
                if "Unit" in metric:
                    datum["Unit"] = metric["Unit"]
                if isinstance(value, list):
                    if not value or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                        raise EmfError(f"{name}: values must be numbers")
                    datum["Values"] = [float(v) for v in value]
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    datum["Value"] = float(value)
                else:
                    raise EmfError(f"{name}: value must be a number or a list of numbers")
                out.append((namespace, datum))
    return out


def ingest_emf(backend, text: str) -> dict:
    """Puts the metrics of EMF log lines into a moto CloudWatch backend; counts what happened."""
    extracted, ordinary, rejected = 0, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = emf_metric_data(line)
        except EmfError as error:
            rejected.append({"line": number, "error": str(error)})
            continue
        if data is None:
            ordinary += 1
            continue
        for namespace, datum in data:
            backend.put_metric_data(namespace, [datum])
            extracted += 1
    return {"metrics": extracted, "log_lines": ordinary, "rejected": rejected}


# --- evaluation -------------------------------------------------------------------------------


def _epoch(timestamp) -> float:
    if isinstance(timestamp, (int, float)):
        return float(timestamp)
    if isinstance(timestamp, str):
        timestamp = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
    return timestamp.timestamp()


def _stamp(epoch: float) -> str:
    """CloudWatch's datapoint time in state reasons: dd/mm/yy HH:MM:SS (UTC)."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class _Aggregate:
    sample_count: float = 0.0
    sum: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add(self, datum) -> None:
        if hasattr(datum, "value"):
            self.sample_count += 1
            self.sum += datum.value
            self.minimum = min(self.minimum, datum.value)
            self.maximum = max(self.maximum, datum.value)
        else:  # StatisticValues
            self.sample_count += float(datum.sample_count)
            self.sum += float(datum.sum)
            self.minimum = min(self.minimum, float(datum.min))
            self.maximum = max(self.maximum, float(datum.max))

    def statistic(self, name: str) -> float:
        return {
            "SampleCount": self.sample_count,
            "Sum": self.sum,
            "Average": self.sum / self.sample_count if self.sample_count else math.nan,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }[name]


@dataclass
class AlarmConfig:
    """What evaluation needs from an alarm (moto's Alarm or PutMetricAlarm arguments)."""

    name: str
    namespace: str
    metric_name: str
    dimensions: frozenset
    statistic: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison_operator: str
    treat_missing_data: str
    unit: str | None = None
    unsupported: str | None = None

    @classmethod
    def from_moto(cls, alarm) -> "AlarmConfig":
        unsupported = None
        if getattr(alarm, "rule", None):
            unsupported = "composite alarms are not evaluated by the local world"
        elif alarm.metric_data_queries:
            unsupported = "metric math alarms are not evaluated by the local world"
        elif alarm.extended_statistic:
            unsupported = f"percentile statistic {alarm.extended_statistic} is not evaluated by the local world"
        elif alarm.comparison_operator not in _OPERATORS:
            unsupported = f"{alarm.comparison_operator} is not evaluated by the local world"
        elif alarm.statistic not in _STATISTICS:
            unsupported = f"statistic {alarm.statistic} is not evaluated by the local world"
        evaluation_periods = int(alarm.evaluation_periods or 1)
        return cls(
            name=alarm.name,
            namespace=alarm.namespace,
            metric_name=alarm.metric_name,
            dimensions=frozenset((d.name, d.value) for d in alarm.dimensions),
            statistic=alarm.statistic,
            period=int(alarm.period or 60),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(alarm.datapoints_to_alarm or evaluation_periods),
            threshold=float(alarm.threshold or 0.0),
            comparison_operator=alarm.comparison_operator,
            treat_missing_data=alarm.treat_missing_data or "missing",
            unit=alarm.unit,
            unsupported=unsupported,
        )


@dataclass
class Decision:
    state: str | None  # None: keep the current state (TreatMissingData=ignore)
    reason: str
    reason_data: dict
    datapoints: list = field(default_factory=list)  # [(period start epoch, value)] newest first


def period_values(config: AlarmConfig, metric_data, now: float) -> list[tuple[float, float | None]]:
    """(period start, statistic or None when missing) for the evaluation range, newest first."""
    latest = math.floor(now / config.period) * config.period
    count = config.evaluation_periods + EXTRA_PERIODS
    oldest = latest - (count - 1) * config.period
    buckets: dict[float, _Aggregate] = {}
    for datum in metric_data:
        if datum.namespace != config.namespace or datum.name != config.metric_name:
            continue
        if frozenset((d.name, d.value) for d in datum.dimensions) != config.dimensions:
            continue
        if config.unit and datum.unit and datum.unit != config.unit:
            continue
        at = _epoch(datum.timestamp)
        start = math.floor(at / config.period) * config.period
        if oldest <= start <= latest:
            buckets.setdefault(start, _Aggregate()).add(datum)
    return [
        (start, buckets[start].statistic(config.statistic) if start in buckets else None)
        for start in (latest - i * config.period for i in range(count))
    ]


def _points(points: list[tuple[float, float]]) -> str:
    return ", ".join(f"{value!r} ({_stamp(start)})" for start, value in points)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def decide(config: AlarmConfig, values: list[tuple[float, float | None]], now: float) -> Decision:
    """The state CloudWatch would give the alarm for these period values (newest first)."""
    phrase, breaches = _OPERATORS[config.comparison_operator]
    n, m = config.evaluation_periods, config.datapoints_to_alarm
    real = [(start, value) for start, value in values if value is not None]
    evaluated = real[:n]
    filled = n - len(evaluated)  # missing datapoints that must stand in for real ones
    breaching = [p for p in evaluated if breaches(p[1], config.threshold)]
    fine = [p for p in evaluated if not breaches(p[1], config.threshold)]
    treatment = config.treat_missing_data if config.treat_missing_data in _TREATMENTS else "missing"
    filled_breaching = filled if treatment == "breaching" else 0
    filled_fine = filled if treatment == "notBreaching" else 0

    reason_data = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(values[min(n, len(values)) - 1][0]),
        "statistic": config.statistic,
        "period": config.period,
        "recentDatapoints": [value for _, value in reversed(evaluated)],
        "threshold": config.threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(start), "value": value} for start, value in evaluated],
    }
    listed = f"[{_points(evaluated)}]"
    treated = ""
    if filled and treatment in ("breaching", "notBreaching"):
        kind = "Breaching" if treatment == "breaching" else "NonBreaching"
        treated = f" and {_plural(filled, 'missing datapoint')} {'was' if filled == 1 else 'were'} treated as [{kind}]"

    if len(breaching) + filled_breaching >= m:
        if not evaluated:
            reason = f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')}{treated}."
        elif m == n == 1 or (m == n and not filled):
            reason = (
                f"Threshold Crossed: {_plural(len(evaluated), 'datapoint')} {listed} "
                f"{'was' if len(evaluated) == 1 else 'were'} {phrase} the threshold ({config.threshold!r}){treated}."
            )
        else:
            reason = (
                f"Threshold Crossed: {len(breaching) + filled_breaching} out of the last {n} datapoints {listed} "
                f"were {phrase} the threshold ({config.threshold!r}){treated} "
                f"(minimum {_plural(m, 'datapoint')} for OK -> ALARM transition)."
            )
        return Decision("ALARM", reason, reason_data, evaluated)

    # Not enough breaching datapoints. OK is certain when even the undecided (missing, not
    # filled) datapoints could not make the alarm breach.
    undecided = filled - filled_breaching - filled_fine
    if len(breaching) + undecided < m:
        if not evaluated:
            reason = f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')}{treated}."
        elif not breaching:
            reason = (
                f"Threshold Crossed: {_plural(len(evaluated), 'datapoint')} {listed} "
                f"{'was' if len(evaluated) == 1 else 'were'} not {phrase} the threshold ({config.threshold!r}){treated}."
            )
        else:
            reason = (
                f"Threshold Crossed: {len(fine) + filled_fine} out of the last {n} datapoints {listed} "
                f"were not {phrase} the threshold ({config.threshold!r}){treated} "
                f"(minimum {_plural(n - m + 1, 'datapoint')} for ALARM -> OK transition)."
            )
        return Decision("OK", reason, reason_data, evaluated)

    if treatment == "ignore":
        return Decision(None, f"Insufficient Data: {_plural(undecided, 'datapoint')} {'was' if undecided == 1 else 'were'} unknown; missing data is ignored.", reason_data, evaluated)
    return Decision(
        "INSUFFICIENT_DATA",
        f"Insufficient Data: {_plural(undecided, 'datapoint')} {'was' if undecided == 1 else 'were'} unknown.",
        reason_data,
        evaluated,
    )


class AlarmEvaluator:
    """Evaluates the metric alarms of every account and region moto holds."""

    def __init__(self):
        self._lock = threading.Lock()
        self.last_evaluated: float | None = None

    @staticmethod
    def _backends():
        from moto.cloudwatch.models import cloudwatch_backends

        for account_id, regions in list(cloudwatch_backends.items()):
            for region, backend in list(regions.items()):
                yield account_id, region, backend

    def backend(self, account_id: str, region: str):
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[account_id][region]

    def evaluate(self, now: float | None = None, prefix: str = "") -> list[dict]:
        """Evaluates every alarm (whose name starts with `prefix`) at `now`; returns the board."""
        now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else now
        with self._lock:
            self.last_evaluated = now
            return [self._evaluate_one(a, r, b, alarm, now) for a, r, b, alarm in self._alarms(prefix)]

    def board(self, prefix: str = "") -> list[dict]:
        return [_describe(a, r, alarm) for a, r, _, alarm in self._alarms(prefix)]

    def _alarms(self, prefix: str):
        for account_id, region, backend in self._backends():
            for name, alarm in sorted(list(backend.alarms.items())):
                if name.startswith(prefix):
                    yield account_id, region, backend, alarm

    def _evaluate_one(self, account_id: str, region: str, backend, alarm, now: float) -> dict:
        config = AlarmConfig.from_moto(alarm)
        entry = _describe(account_id, region, alarm)
        if config.unsupported:
            entry["evaluation"] = {"supported": False, "note": config.unsupported}
            return entry
        decision = decide(config, period_values(config, list(backend.metric_data), now), now)
        if decision.state is not None and decision.state != alarm.state_value:
            alarm.update_state(decision.reason, json.dumps(decision.reason_data), decision.state)
            alarm.state_updated_timestamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None)
            entry = _describe(account_id, region, alarm)
        entry["evaluation"] = {
            "supported": True,
            "at": _iso(now),
            "decision": decision.state or alarm.state_value,
            "reason": decision.reason,
            "datapoints": [{"timestamp": _iso(start), "value": value} for start, value in decision.datapoints],
        }
        return entry


def _describe(account_id: str, region: str, alarm) -> dict:
    return {
        "account": account_id,
        "region": region,
        "name": alarm.name,
        "namespace": alarm.namespace,
        "metric": alarm.metric_name,
        "dimensions": {d.name: d.value for d in alarm.dimensions},
        "state": alarm.state_value,
        "reason": alarm.state_reason,
        "updated": alarm.state_updated_timestamp.replace(tzinfo=datetime.timezone.utc).isoformat(),
        "description": alarm.description,
    }


def start_alarm_initially_insufficient(alarm) -> None:
    """A new CloudWatch alarm starts in INSUFFICIENT_DATA (moto starts it in OK)."""
    alarm.state_value = "INSUFFICIENT_DATA"
    alarm.state_reason = INITIAL_REASON
