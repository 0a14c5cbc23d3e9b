"""What a cluster's audit log costs a month, stage by stage (pure: no AWS calls).

From what CloudWatch measured over the window, scaled to a month (730 hours, as AWS's pricing
calculator counts one):
- CloudWatch Logs ingestion: the log group's IncomingBytes ("uncompressed bytes uploaded"). The
  account pays it whether or not anything is shipped.
- Firehose ingestion: our filter's ForwardedBytes ("compressed bytes forwarded"), each record
  rounded up to the next 5 KB (Firehose pricing). Records are counted per stream, not per cluster,
  so the rounding is the stream's own: billed / received bytes of the stream (`AWS/Firehose`
  IncomingBytes and IncomingRecords), with each record taken at the stream's average size.
- S3 storage: what Firehose writes (the forwarded bytes), kept `ObjectExpiryDays` days: a steady
  state of that many days' objects, priced per GB-month.
- What the filter pattern saves downstream: Firehose and S3 for the events it drops, estimated
  from the share of events kept (ForwardedLogEvents / IncomingLogEvents), assuming the dropped
  events compress as the kept ones do.

A GB is 2^30 bytes, as AWS bills it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .prices import Prices

GB = 1024**3
HOURS_PER_MONTH = 730
FIREHOSE_ROUNDING = 5 * 1024  # bytes: each record is billed in 5 KB steps


@dataclass(frozen=True)
class Cost:
    """Monthly USD at the window's rate; bytes are over the window."""

    ingested_bytes: int
    forwarded_bytes: int
    logs_ingestion: float
    firehose: float
    s3: float
    total: float
    filter_saves: float | None  # None: nothing to estimate it from (nothing forwarded)

    def to_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def per_month(window_s: float) -> float:
    return HOURS_PER_MONTH * 3600 / window_s


def firehose_rounding(stream_bytes: float | None, stream_records: float | None) -> float:
    """Billed bytes per received byte of the stream: each record rounded up to 5 KB, taking
    records at their average size; 1.0 when the stream received nothing to tell."""
    if not stream_bytes or not stream_records:
        return 1.0
    average = stream_bytes / stream_records
    return math.ceil(average / FIREHOSE_ROUNDING) * FIREHOSE_ROUNDING / average


def estimate(
    *,
    ingested_bytes: float,
    forwarded_bytes: float,
    received_events: float,
    forwarded_events: float,
    window_s: float,
    prices: Prices,
    expiry_days: float,
    rounding: float = 1.0,
) -> Cost:
    month = per_month(window_s)
    logs = ingested_bytes * month / GB * prices.logs_ingestion_gb
    firehose = forwarded_bytes * rounding * month / GB * prices.firehose_ingestion_gb
    stored_gb = forwarded_bytes * (86400 / window_s) * expiry_days / GB  # the steady state
    s3 = stored_gb * prices.s3_storage_gb_month
    saves = None
    if forwarded_events and received_events >= forwarded_events:
        kept = forwarded_events / received_events
        saves = (firehose + s3) * (1 / kept - 1)
    return Cost(int(ingested_bytes), int(forwarded_bytes), logs, firehose, s3, logs + firehose + s3, saves)


def total(costs: list[Cost]) -> dict[str, float]:
    """The account's sum of each stage."""
    keys = ("logs_ingestion", "firehose", "s3", "total")
    summed = {key: round(sum(getattr(cost, key) for cost in costs), 4) for key in keys}
    summed["filter_saves"] = round(sum(cost.filter_saves or 0.0 for cost in costs), 4)
    return summed


def dollars(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


def size(count: float) -> str:
    for unit, scale in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)} B"
