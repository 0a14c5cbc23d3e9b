"""Subscription delivery as AWS does it, on top of moto (which sends every log event, unfiltered,
and writes one object per record).

After `install()`:
- a subscription filter's pattern is applied with eks-audit's own evaluator before delivery
  (SubscriptionFilters.html: "only log events that match the pattern are sent");
- CloudWatch's metrics of it are published (CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html):
  `AWS/Logs` IncomingLogEvents {LogGroupName}, ForwardedLogEvents / DeliveryErrors {LogGroupName,
  DestinationType, FilterName}, and on each object `AWS/Firehose` DeliveryToS3.Success and
  DeliveryToS3.DataFreshness {DeliveryStreamName};
- a stream can be broken on demand (`break_stream`): its subscription deliveries fail and count as
  DeliveryErrors, as when a stream's role or bucket refuses it; so do deliveries to a stream that
  was deleted (nothing is forwarded to it);
- Firehose buffers records and writes one object per flush: the records' gzip members
  concatenated, under `<prefix>YYYY/MM/dd/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`,
  which is what real Firehose with compression UNCOMPRESSED writes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from eks_audit.filter_pattern import CompiledPattern, PatternError, compile_pattern


@dataclass
class Buffering:
    seconds: float = 1.0
    max_bytes: int = 5 * 1024 * 1024
    lock: threading.Lock = field(default_factory=threading.Lock)
    # stream ARN -> (first record time, records)
    pending: dict[str, tuple[float, list[bytes]]] = field(default_factory=dict)
    stats: dict[str, int] = field(
        default_factory=lambda: {"records": 0, "objects": 0, "events_kept": 0, "events_dropped": 0}
    )


BUFFERING = Buffering()
BROKEN: set[str] = set()  # stream ARNs whose deliveries fail
_installed = False


def break_stream(stream_arn: str, broken: bool = True) -> None:
    (BROKEN.add if broken else BROKEN.discard)(stream_arn)


def publish(
    account: str, region: str, namespace: str, name: str, dimensions: dict[str, str], value: float
) -> None:
    """A data point, as the service would publish it (into moto's CloudWatch, in-process)."""
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account][region].put_metric_data(
        namespace,
        [
            {
                "MetricName": name,
                "Dimensions": [{"Name": key, "Value": val} for key, val in dimensions.items()],
                "Values": [float(value)],
                "Unit": "Count" if namespace == "AWS/Logs" else "None",
                "Timestamp": datetime.now(UTC).replace(tzinfo=None),  # moto compares naive UTC
            }
        ],
    )


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> CompiledPattern | None:
    try:
        return compile_pattern(pattern)
    except PatternError:
        return None  # put before the overlay checked patterns: deliver everything, as moto would


def install(buffer_seconds: float | None = None) -> Buffering:
    global _installed
    if buffer_seconds is not None:
        BUFFERING.seconds = buffer_seconds
    if _installed:
        return BUFFERING
    _installed = True

    from moto.firehose.models import FirehoseBackend
    from moto.logs.models import LogStream

    original_send = LogStream._send_log_events
    original_put = LogStream.put_log_events

    def put_log_events(self, log_events):
        group = self.log_group
        publish(
            group.account_id,
            group.region,
            "AWS/Logs",
            "IncomingLogEvents",
            {"LogGroupName": group.name},
            len(log_events),
        )
        publish(  # "the volume of log events in uncompressed bytes uploaded"
            group.account_id,
            group.region,
            "AWS/Logs",
            "IncomingBytes",
            {"LogGroupName": group.name},
            sum(len(str(event.get("message", "")).encode()) for event in log_events),
        )
        return original_put(self, log_events)

    def send_log_events(self, service, destination_arn, filter_name, log_events):
        group = self.log_group
        subscription = group.subscription_filters.get(filter_name)
        pattern = _compiled(subscription.filter_pattern if subscription else "")
        kept = log_events if pattern is None else [e for e in log_events if pattern.matches(e["message"])]
        with BUFFERING.lock:
            BUFFERING.stats["events_kept"] += len(kept)
            BUFFERING.stats["events_dropped"] += len(log_events) - len(kept)
        if not kept:
            return
        dimensions = {
            "LogGroupName": group.name,
            "DestinationType": service.capitalize(),
            "FilterName": filter_name,
        }
        if destination_arn in BROKEN or not _stream_exists(destination_arn):
            # a deleted stream receives nothing: what AWS does then is not documented (its metric page
            # defines DeliveryErrors as events CloudWatch Logs "received an error" forwarding), so
            # the local cloud counts them as DeliveryErrors and forwards nothing
            publish(group.account_id, group.region, "AWS/Logs", "DeliveryErrors", dimensions, len(kept))
            return
        publish(group.account_id, group.region, "AWS/Logs", "ForwardedLogEvents", dimensions, len(kept))
        original_send(self, service, destination_arn, filter_name, kept)

    def firehose_send_log_event(
        self, delivery_stream_arn, filter_name, log_group_name, log_stream_name, log_events
    ):
        from eks_audit.delivery import encode_record

        member = encode_record(
            log_group_name,
            log_stream_name,
            [(event["timestamp"], event["message"]) for event in log_events],
            owner=self.account_id,
            filter_names=(filter_name,),
            ids=[event["id"] for event in log_events],
        )
        # "the volume of log events in compressed bytes forwarded to the subscription destination"
        dimensions = {
            "LogGroupName": log_group_name,
            "DestinationType": "Firehose",
            "FilterName": filter_name,
        }
        publish(self.account_id, self.region_name, "AWS/Logs", "ForwardedBytes", dimensions, len(member))
        buffer_record(delivery_stream_arn, member)

    LogStream._send_log_events = send_log_events
    LogStream.put_log_events = put_log_events
    FirehoseBackend.send_log_event = firehose_send_log_event
    return BUFFERING


def _stream_exists(arn: str) -> bool:
    if ":firehose:" not in arn:
        return True
    from moto.firehose.models import firehose_backends

    _, _, _, region, account, resource = arn.split(":", 5)
    return resource.split("/", 1)[1] in firehose_backends[account][region].delivery_streams


def buffer_record(stream_arn: str, member: bytes) -> None:
    """Firehose's buffer: records wait until the interval is up or the buffer is full."""
    _, _, _, region, account, resource = stream_arn.split(":", 5)
    stream = {"DeliveryStreamName": resource.split("/", 1)[1]}
    publish(account, region, "AWS/Firehose", "IncomingBytes", stream, len(member))
    publish(account, region, "AWS/Firehose", "IncomingRecords", stream, 1)
    with BUFFERING.lock:
        started, records = BUFFERING.pending.get(stream_arn, (time.monotonic(), []))
        records.append(member)
        BUFFERING.pending[stream_arn] = (started, records)
        BUFFERING.stats["records"] += 1
        full = sum(map(len, records)) >= BUFFERING.max_bytes
    if full:
        flush(stream_arn)


def flush(stream_arn: str | None = None, *, only_due: bool = False) -> int:
    """Write buffered records as objects; returns how many objects were written."""
    from moto.firehose.models import firehose_backends

    now = time.monotonic()
    with BUFFERING.lock:
        due = {
            arn: records
            for arn, (started, records) in BUFFERING.pending.items()
            if (stream_arn is None or arn == stream_arn)
            and (not only_due or now - started >= BUFFERING.seconds)
        }
        due_since = {arn: BUFFERING.pending[arn][0] for arn in due}
        for arn in due:
            del BUFFERING.pending[arn]
    written = 0
    for arn, records in due.items():
        parts = arn.split(":")
        account, region = parts[4], parts[3]
        backend = firehose_backends[account][region]
        stream = backend.lookup_name_from_arn(arn)
        if stream is None:
            continue
        dimensions = {"DeliveryStreamName": stream.delivery_stream_name}
        try:
            backend.put_s3_records(
                stream.delivery_stream_name,
                stream.version_id,
                stream.destinations[0]["S3"],  # moto keeps the S3 view of an ExtendedS3 destination here
                [{"Data": record} for record in records],
            )
        except RuntimeError:  # moto's word for any failed S3 put (a deleted bucket, say)
            # Firehose keeps the records and retries (up to 24 h for S3); the failed put shows as
            # DeliveryToS3.Success 0 (firehose/latest/dev/troubleshooting.html: "If the destination is Amazon
            # S3 and delivery fails ... Firehose keeps retrying until the retention period ends")
            publish(account, region, "AWS/Firehose", "DeliveryToS3.Success", dimensions, 0.0)
            _keep_for_retry(arn, due_since[arn], records)
            continue
        publish(account, region, "AWS/Firehose", "DeliveryToS3.Success", dimensions, 1.0)
        publish(
            account, region, "AWS/Firehose", "DeliveryToS3.DataFreshness", dimensions, now - due_since[arn]
        )
        written += 1
    with BUFFERING.lock:
        BUFFERING.stats["objects"] += written
    return written


def _keep_for_retry(stream_arn: str, started: float, records: list[bytes]) -> None:
    with BUFFERING.lock:
        _, newer = BUFFERING.pending.get(stream_arn, (started, []))
        BUFFERING.pending[stream_arn] = (started, records + newer)


def pending_records(stream_arn: str | None = None) -> int:
    with BUFFERING.lock:
        return sum(len(r) for arn, (_, r) in BUFFERING.pending.items() if stream_arn in (None, arn))


def stats() -> dict[str, Any]:
    with BUFFERING.lock:
        return dict(BUFFERING.stats)
