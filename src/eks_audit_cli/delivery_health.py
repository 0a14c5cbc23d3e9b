"""Is each cluster's audit log reaching the consumer? Configuration is not delivery: a pattern that
drops everything, a stream that cannot write, throttled deliveries all look "compliant". AWS counts
what is needed (AWS-FACTS.md):

- `AWS/Logs` IncomingLogEvents {LogGroupName}: what the cluster's log group received;
- `AWS/Logs` ForwardedLogEvents, DeliveryErrors, DeliveryThrottling: what subscription filters
  forwarded or failed to. AWS's own material lists them with the dimensions {LogGroupName,
  DestinationType, FilterName} (older) and {LogGroupName} (newer); which one a given account gets is
  not documented, so both are asked for and the larger answer counts;
- `AWS/Firehose` DeliveryToS3.Success and DeliveryToS3.DataFreshness {DeliveryStreamName}: the
  pipeline's own health.

`judge` is the decision (pure); `fetch` and `pipeline` make one batched GetMetricData call each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from eks_audit.names import log_group_name

QUERIES_PER_CALL = 500  # GetMetricData's limit
FRESHNESS_LIMIT_S = 900  # a stream more than 15 minutes behind is not delivering
_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+|\d+(?:\.\d+)?")
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str) -> float:
    """ "90", "90s", "30m", "1h", "2d", "1h30m" -> seconds."""
    text = text.strip().replace(" ", "")
    if not _DURATION_RE.fullmatch(text):
        raise ValueError(f"expected a duration such as 30m, 1h, 1h30m or 3600, got {text!r}")
    if text.replace(".", "", 1).isdigit():
        return float(text)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(value) * units[unit] for value, unit in _PART_RE.findall(text))


@dataclass(frozen=True)
class Delivery:
    window_s: int
    received: int
    forwarded: int
    errors: int
    throttled: int
    state: str  # delivered | idle | silent
    reason: str
    # the volumes the cost figures use: IncomingBytes (uncompressed) and ForwardedBytes (compressed)
    received_bytes: int = 0
    forwarded_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(window_s: int, received: float, forwarded: float, errors: float, throttled: float) -> Delivery:
    """delivered: our filter forwarded events and none failed; idle: the log group received nothing
    (no activity is not a fault); silent: events arrived but none was forwarded, or deliveries
    failed."""
    received, forwarded, errors, throttled = (int(x) for x in (received, forwarded, errors, throttled))
    window = f"in the last {_human(window_s)}"

    def verdict(state: str, reason: str) -> Delivery:
        return Delivery(window_s, received, forwarded, errors, throttled, state, reason)

    if errors:
        return verdict(
            "silent",
            f"{errors} events failed delivery to the stream {window} ({forwarded} forwarded): "
            "check the stream, its role and the bucket",
        )
    if forwarded:
        note = f"; {throttled} deliveries throttled" if throttled else ""
        return verdict("delivered", f"{forwarded} of {received} events forwarded {window}{note}")
    if received:
        return verdict(
            "silent",
            f"{received} events received {window}, none forwarded by the subscription filter "
            "(a pattern that keeps nothing, or a filter that cannot deliver)",
        )
    return verdict("idle", f"no log events {window}")


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _metric(namespace: str, name: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
    }


def _get(
    cloudwatch: Any, queries: list[dict[str, Any]], window_s: int, now: datetime
) -> dict[str, list[float]]:
    """Each query's values over the window; ids with no data are absent."""
    found: dict[str, list[float]] = {}
    end = now + timedelta(minutes=1)  # metrics are per minute: include the current one whole
    for begin in range(0, len(queries), QUERIES_PER_CALL):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[begin : begin + QUERIES_PER_CALL],
            "StartTime": end - timedelta(seconds=window_s),
            "EndTime": end,
        }
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                if result.get("Values"):
                    found.setdefault(result["Id"], []).extend(result["Values"])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return found


def fetch(
    cloudwatch: Any, clusters: Iterable[str], filter_name: str, window_s: int, now: datetime | None = None
) -> dict[str, Delivery]:
    """Each cluster's delivery over the last `window_s` seconds."""
    now = now or datetime.now(UTC)
    period = max(60, int(window_s) // 60 * 60)
    names = list(clusters)
    queries = []
    for index, cluster in enumerate(names):
        group = {"LogGroupName": log_group_name(cluster)}
        per_filter = {**group, "DestinationType": "Firehose", "FilterName": filter_name}
        metrics = {"received": ("IncomingLogEvents", [group]), "received_bytes": ("IncomingBytes", [group])}
        for key, name in (
            ("forwarded", "ForwardedLogEvents"),
            ("forwarded_bytes", "ForwardedBytes"),
            ("errors", "DeliveryErrors"),
            ("throttled", "DeliveryThrottling"),
        ):
            metrics[key] = (name, [per_filter, group])
        for key, (name, dimension_sets) in metrics.items():
            for form, dimensions in enumerate(dimension_sets):
                queries.append(
                    {
                        "Id": f"{key}_{index}_{form}",
                        "MetricStat": {
                            "Metric": _metric("AWS/Logs", name, dimensions),
                            "Period": period,
                            "Stat": "Sum",
                        },
                        "ReturnData": True,
                    }
                )
    sums = _get(cloudwatch, queries, window_s, now) if queries else {}

    def value(key: str, index: int) -> float:
        return max(sum(sums.get(f"{key}_{index}_{form}", [])) for form in (0, 1))

    return {
        cluster: replace(
            judge(
                int(window_s),
                value("received", index),
                value("forwarded", index),
                value("errors", index),
                value("throttled", index),
            ),
            received_bytes=int(value("received_bytes", index)),
            forwarded_bytes=int(value("forwarded_bytes", index)),
        )
        for index, cluster in enumerate(names)
    }


def pipeline(
    cloudwatch: Any,
    stream_name: str,
    window_s: int,
    now: datetime | None = None,
    topic_name: str | None = None,
) -> dict[str, Any]:
    """The pipeline's own health: the stream's share of successful writes to S3 and its oldest
    record's age, and the topic's notifications delivered and failed (`AWS/SNS` {TopicName})."""
    now = now or datetime.now(UTC)
    period = max(60, int(window_s) // 60 * 60)
    stream = {"DeliveryStreamName": stream_name}
    queries = [
        {
            "Id": "success",
            "MetricStat": {
                "Metric": _metric("AWS/Firehose", "DeliveryToS3.Success", stream),
                "Period": period,
                "Stat": "Average",
            },
        },
        {
            "Id": "freshness",
            "MetricStat": {
                "Metric": _metric("AWS/Firehose", "DeliveryToS3.DataFreshness", stream),
                "Period": period,
                "Stat": "Maximum",
            },
        },
    ]
    for key, name in (("stream_bytes", "IncomingBytes"), ("stream_records", "IncomingRecords")):
        metric = _metric("AWS/Firehose", name, stream)  # the 5 KB rounding of the cost figures
        queries.append({"Id": key, "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"}})
    if topic_name:
        for key, name in (
            ("notified", "NumberOfNotificationsDelivered"),
            ("not_notified", "NumberOfNotificationsFailed"),
        ):
            metric = _metric("AWS/SNS", name, {"TopicName": topic_name})
            queries.append({"Id": key, "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"}})
    found = _get(cloudwatch, queries, window_s, now)
    success, freshness = found.get("success"), found.get("freshness")
    health: dict[str, Any] = {
        "stream": stream_name,
        "s3_success": sum(success) / len(success) if success else None,
        "data_freshness_s": max(freshness) if freshness else None,
        "stream_bytes": int(sum(found["stream_bytes"])) if "stream_bytes" in found else None,
        "stream_records": int(sum(found["stream_records"])) if "stream_records" in found else None,
        "topic": topic_name,
        "notifications_delivered": int(sum(found["notified"])) if "notified" in found else None,
        "notifications_failed": int(sum(found["not_notified"])) if "not_notified" in found else None,
    }
    problems = []
    if health["s3_success"] is not None and health["s3_success"] < 1:
        problems.append(f"the stream failed some writes to S3 (success {health['s3_success']:.0%})")
    if health["data_freshness_s"] is not None and health["data_freshness_s"] > FRESHNESS_LIMIT_S:
        problems.append(f"the stream is {int(health['data_freshness_s'])} s behind")
    if health["notifications_failed"]:
        problems.append(
            f"{health['notifications_failed']} notifications of new objects failed to reach a subscriber"
        )
    health["problem"] = "; ".join(problems) or None
    return health
