"""Client-side rate per API, so that a sweep, a backfill or a status stays inside the account's
quotas instead of leaning on throttling and retries. Token buckets, shared per process and region.

The starting rate of each API is its quota (quotas.py: Service Quotas where AWS publishes one, a
documented default where it does not) times this process's share of it:
- a read-only run (`status`, a dry run) may take the whole quota (READ_ONLY_SHARE: all but a margin);
- the controller takes CONTROLLER_SHARE of it, leaving headroom for the rest of the account, divided
  among the reconcilers that may run at once (CONCURRENT_RECONCILERS); the CLI's writes take the same.

The rate then adapts (additive increase, multiplicative decrease): every answer that is not
throttling raises it a little, up to the quota where the quota is known and to UNKNOWN_CEILING times
the assumption where it is not; a throttling answer halves it at once. botocore's adaptive retry
mode does something similar per client (all of a service's APIs in one bucket, and only after the
first throttle); pacing per API from the first call is why this is written here (docs/scale.md).

RATE_LIMITS overrides entries: "logs:PutSubscriptionFilter=5,eks:DescribeCluster=10".
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .quotas import DOCUMENTED_DEFAULTS, Rate, rates_for_region

CONTROLLER_SHARE = 0.8  # of each quota, for all reconcilers together: 20% stays for the account
# A read-only run takes the whole quota but a sliver: paced at exactly the quota, a call whose answer
# is a millisecond quicker than the one before finds AWS's bucket a hair short of a token and is
# throttled; 5% under it, AWS's bucket gains a spare token within seconds.
READ_ONLY_SHARE = 0.95
UNKNOWN_CEILING = 4.0  # how far above an assumed (unpublished) quota the rate may climb
INCREASE_PER_SECOND = 0.25  # additive: of the starting rate, per second of answers without throttling
DECREASE = 0.5  # multiplicative, on a throttling answer
COOLDOWN_SECONDS = 1.0  # throttles within this long of a decrease are one event (answers in flight)

# The error codes botocore's retry modes treat as throttling (botocore/retries/standard.py), without
# LimitExceededException: CloudWatch Logs uses that one for a permanent answer (clients.py).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)


def is_throttling(code: str | None, status: int | None = None) -> bool:
    return status == 429 or code in THROTTLING_CODES


def one_second_of_burst(rate: float) -> float:
    """A second's calls at `rate`, rounded up to a whole call: 95% of a 5/s quota still lets the
    first five calls go at once, as AWS's own full bucket would."""
    return max(1.0, math.ceil(rate - 1e-9))


class TokenBucket:
    """Blocking token bucket; one second of burst at the current rate."""

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
        self.fixed_burst = burst
        self.capacity = burst if burst is not None else one_second_of_burst(rate)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        with self.lock:
            self._refill(self.clock())
            self.tokens -= 1
            wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        if wait:
            self.sleep(wait)
        return wait

    def set_rate(self, rate: float) -> None:
        """Called with the lock held."""
        self._refill(self.clock())
        self.rate = rate
        if self.fixed_burst is None:
            self.capacity = one_second_of_burst(rate)
            self.tokens = min(self.tokens, self.capacity)


class AdaptiveBucket(TokenBucket):
    """A token bucket whose rate follows the answers (AIMD), between `floor` and `ceiling`."""

    def __init__(self, rate: float, ceiling: float, **options: Any):
        super().__init__(rate, **options)
        self.start = rate
        self.ceiling = max(ceiling, rate)
        self.floor = min(rate, max(0.05, rate * 0.05))
        self.throttled = 0
        self.last_decrease = float("-inf")

    def observe(self, throttled: bool) -> None:
        with self.lock:
            now = self.clock()
            if throttled:
                self.throttled += 1
                if now - self.last_decrease < COOLDOWN_SECONDS:
                    return
                self.last_decrease = now
                self.set_rate(max(self.floor, self.rate * DECREASE))
                self.tokens = min(self.tokens, 0.0)  # the next call waits a whole interval
            elif self.rate < self.ceiling:
                self.set_rate(min(self.ceiling, self.rate + INCREASE_PER_SECOND * self.start / self.rate))


class RateLimiter:
    """One bucket per API. `rates` are the starting rates with where they came from; the adaptive
    ceiling is the rate itself where the quota is known, UNKNOWN_CEILING times it where not."""

    def __init__(self, rates: Mapping[str, float | Rate], **bucket_options: Any):
        self.sources: dict[str, Rate] = {
            api: rate if isinstance(rate, Rate) else Rate(float(rate), "given", known=True)
            for api, rate in rates.items()
        }
        self.buckets = {
            api: AdaptiveBucket(
                rate.value, ceiling=rate.value * (1.0 if rate.known else UNKNOWN_CEILING), **bucket_options
            )
            for api, rate in self.sources.items()
        }

    def acquire(self, api: str) -> float:
        bucket = self.buckets.get(api)
        return bucket.acquire() if bucket is not None else 0.0

    def observe(self, api: str, throttled: bool) -> None:
        bucket = self.buckets.get(api)
        if bucket is not None:
            bucket.observe(throttled)

    def rate(self, api: str) -> float | None:
        bucket = self.buckets.get(api)
        return None if bucket is None else bucket.rate

    def throttled(self) -> int:
        return sum(bucket.throttled for bucket in self.buckets.values())

    def fallbacks(self) -> set[str]:
        """Why some rates are documented defaults rather than the account's (empty: none are)."""
        return {rate.fallback for rate in self.sources.values() if rate.fallback}

    def describe(self) -> list[str]:
        """One line per API: the starting rate and where it came from."""
        return [self.sources[api].describe(api) for api in sorted(self.sources)]


def watch(client: Any, limiter: RateLimiter) -> None:
    """Feed every answer of a botocore client's paced APIs to `limiter`, retried attempts included
    (botocore retries throttling inside the call: the caller would never see it). Idempotent."""
    prefix = client.meta.service_model.endpoint_prefix
    service_id = client.meta.service_model.service_id.hyphenize()

    def on_answer(response=None, operation=None, **_kwargs) -> None:
        if response is None or operation is None:
            return  # a connection error: no answer to learn from
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        limiter.observe(f"{prefix}:{operation.name}", is_throttling(code, getattr(http, "status_code", None)))

    client.meta.events.register(
        f"needs-retry.{service_id}", on_answer, unique_id=f"eks-audit-rate-{id(limiter)}"
    )


class RateLimitsError(ValueError):
    """RATE_LIMITS cannot be used: the text says which entry and why."""


def parse_rates(text: str) -> dict[str, float]:
    rates = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        api, sep, value = part.partition("=")
        api = api.strip()
        if not sep or ":" not in api:
            raise RateLimitsError(f"RATE_LIMITS: expected service:Operation=rate, got {part!r}")
        if api not in DOCUMENTED_DEFAULTS:  # an override nothing would read is a typo
            raise RateLimitsError(
                f"RATE_LIMITS: {api}: not an API eks-audit paces (it paces {', '.join(sorted(DOCUMENTED_DEFAULTS))})"
            )
        try:
            rates[api] = float(value)
        except ValueError:
            raise RateLimitsError(f"RATE_LIMITS: {api}: expected a number, got {value.strip()!r}") from None
        if not rates[api] > 0:  # also refuses nan
            raise RateLimitsError(f"RATE_LIMITS: {api}: the rate must be positive, got {value.strip()}")
    return rates


def share_of_quota(read_only: bool, environ: Mapping[str, str] | None = None) -> float:
    """This process's share of each quota (the module docstring says why)."""
    if read_only:
        return READ_ONLY_SHARE
    environ = os.environ if environ is None else environ
    return CONTROLLER_SHARE / max(1, int(environ.get("CONCURRENT_RECONCILERS", "1")))


def scaled(rates: Mapping[str, Rate], share: float) -> dict[str, Rate]:
    """The rates this process starts at: its share of each quota (an override is taken as given)."""
    return {
        api: rate
        if rate.source == "RATE_LIMITS"
        else Rate(rate.value * share, _share_note(rate, share), rate.known, rate.fallback)
        for api, rate in rates.items()
    }


def _share_note(rate: Rate, share: float) -> str:
    return f"{share:.0%} of {rate.value:g}/s, {rate.source}"


def _default_quota_client(region: str) -> Any:
    from .clients import bounded_client

    return bounded_client("service-quotas", region, attempts=2, read_timeout=5)


def build(
    region: str, *, read_only: bool = False, quota_client: Callable[[str], Any] = _default_quota_client
) -> RateLimiter:
    """A limiter for one region: the quotas read, this process's share, RATE_LIMITS on top."""
    overrides = parse_rates(os.environ.get("RATE_LIMITS", ""))
    return RateLimiter(scaled(rates_for_region(quota_client, region, overrides), share_of_quota(read_only)))


class Limiters:
    """Limiters per region and share, each built once, its quotas read once, when first asked for:
    a process's (`shared`) or a CLI command's."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, float], RateLimiter] = {}
        self._lock = threading.Lock()

    def get(
        self,
        region: str,
        *,
        read_only: bool = False,
        quota_client: Callable[[str], Any] = _default_quota_client,
        on_created: Callable[[str, RateLimiter], None] | None = None,
    ) -> RateLimiter:
        key = (region, share_of_quota(read_only))
        with self._lock:
            found = self._found.get(key)
        if found is not None:
            return found
        limiter = build(region, read_only=read_only, quota_client=quota_client)  # no lock held: I/O
        with self._lock:
            if key in self._found:
                return self._found[key]
            self._found[key] = limiter
        if on_created is not None:
            on_created(region, limiter)
        return limiter

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


_SHARED = Limiters()


def shared(region: str, **options: Any) -> RateLimiter:
    """This process's limiter for a region (the quotas are per account and region): what
    `Limiters.get` takes, for the life of an execution environment."""
    return _SHARED.get(region, **options)


def reporter(logger: Any) -> Callable[[str, RateLimiter], None]:
    """An `on_created` for `shared`: logs the rates used and where they came from (once per region
    per execution environment), and a warning when Service Quotas could not be read."""

    def report(region: str, limiter: RateLimiter) -> None:
        logger.info(f"API rates in {region}", extra={"rates": limiter.describe()})
        for reason in sorted(limiter.fallbacks()):
            logger.warning(f"quotas not read in {region}, documented defaults used: {reason}")

    return report


def reset() -> None:
    _SHARED.clear()
