"""Client-side rate per API, so that a sweep or a backfill stays inside the account's quotas
instead of leaning on throttling and retries. Token buckets, shared per process and region.

Defaults are the per-account, per-region quotas in docs/scale.md (their sources are there); a
process's share of them is 1/CONCURRENT_RECONCILERS, since that many reconcilers may run at once.
RATE_LIMITS overrides entries: "logs:PutSubscriptionFilter=5,eks:DescribeCluster=10".
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

# requests per second per account and region (docs/scale.md)
DEFAULT_QUOTAS: dict[str, float] = {
    "eks:ListClusters": 10.0,
    "eks:DescribeCluster": 10.0,
    "eks:DescribeUpdate": 10.0,
    "eks:UpdateClusterConfig": 2.0,
    "logs:DescribeSubscriptionFilters": 5.0,
    "logs:PutSubscriptionFilter": 5.0,
    "logs:CreateLogGroup": 5.0,
    "logs:PutRetentionPolicy": 5.0,
}


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        if wait:
            self.sleep(wait)
        return wait


class RateLimiter:
    def __init__(self, rates: Mapping[str, float], **bucket_options):
        self.buckets = {api: TokenBucket(rate, **bucket_options) for api, rate in rates.items()}

    def acquire(self, api: str) -> float:
        bucket = self.buckets.get(api)
        return bucket.acquire() if bucket is not None else 0.0


def parse_rates(text: str) -> dict[str, float]:
    rates = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        api, sep, value = part.partition("=")
        if not sep or ":" not in api:
            raise ValueError(f"RATE_LIMITS: expected service:Operation=rate, got {part!r}")
        rates[api.strip()] = float(value)
    return rates


def rates_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, float]:
    environ = os.environ if environ is None else environ
    share = 1.0 / max(1, int(environ.get("CONCURRENT_RECONCILERS", "1")))
    rates = {api: quota * share for api, quota in DEFAULT_QUOTAS.items()}
    rates.update(parse_rates(environ.get("RATE_LIMITS", "")))
    return rates


_shared: dict[str, RateLimiter] = {}
_lock = threading.Lock()


def shared(region: str) -> RateLimiter:
    """One limiter per region per process (the quotas are per region)."""
    with _lock:
        if region not in _shared:
            _shared[region] = RateLimiter(rates_from_environment())
        return _shared[region]


def reset() -> None:
    with _lock:
        _shared.clear()
