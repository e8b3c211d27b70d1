"""CloudWatch fidelity for the local world.

moto's GetMetricStatistics matches every datapoint whose dimensions *include* the requested ones;
CloudWatch matches the exact dimension set (a metric is identified by all of its dimensions).
The auditor publishes each count twice — per (SourceBucket, DestinationBucket) and per
SourceBucket alone — so subset matching would double every roll-up the alarms read.

A new alarm starts in INSUFFICIENT_DATA, as in CloudWatch (moto starts it in OK); updating an
existing alarm with PutMetricAlarm keeps its state. `alarms.py` evaluates them.
"""

from __future__ import annotations

from moto.cloudwatch.models import CloudWatchBackend


def install() -> None:
    _install_alarm_initial_state()
    original = CloudWatchBackend.get_metric_statistics
    if getattr(original, "_world_exact", False):
        return

    def get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None):
        result = original(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit)
        wanted = {(d["Name"], d.get("Value")) for d in dimensions or []}
        exact = []
        for statistics in result:
            statistics.metric_data = [
                datum for datum in statistics.metric_data if {(d.name, d.value) for d in datum.dimensions} == wanted
            ]
            if statistics.metric_data:
                exact.append(statistics)
        return exact

    get_metric_statistics._world_exact = True  # type: ignore[attr-defined]
    CloudWatchBackend.get_metric_statistics = get_metric_statistics


def _install_alarm_initial_state() -> None:
    from .alarms import start_alarm_initially_insufficient

    original = CloudWatchBackend.put_metric_alarm
    if getattr(original, "_world_state", False):
        return

    def put_metric_alarm(self, name, *args, **kwargs):
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            start_alarm_initially_insufficient(alarm)
        else:
            alarm.state_value, alarm.state_reason = previous.state_value, previous.state_reason
            alarm.state_reason_data, alarm.state_updated_timestamp = previous.state_reason_data, previous.state_updated_timestamp
            alarm.history = previous.history
        return alarm

    put_metric_alarm._world_state = True  # type: ignore[attr-defined]
    CloudWatchBackend.put_metric_alarm = put_metric_alarm
