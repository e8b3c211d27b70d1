"""CloudWatch fidelity for the local world.

moto's GetMetricStatistics matches every datapoint whose dimensions *include* the requested ones;
CloudWatch matches the exact dimension set (a metric is identified by all of its dimensions).
The auditor publishes each count twice — per (SourceBucket, DestinationBucket) and per
SourceBucket alone — so subset matching would double every roll-up the alarms read.
"""

from __future__ import annotations

from moto.cloudwatch.models import CloudWatchBackend


def install() -> None:
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
