"""AWS clients: one per (service, region) per process, adaptive retries, endpoint override.

Created with botocore's session rather than boto3's: boto3 would import s3transfer and add about
200 ms to every cold start for nothing the controller uses. botocore itself honours
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which is how the functions, the CLI and the tests
reach the local cloud or moto.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import botocore.session
from botocore.config import Config


def retry_config() -> Config:
    """Adaptive retries by default; AWS_RETRY_MODE and AWS_MAX_ATTEMPTS (botocore's own variables)
    override them, since an explicit Config would otherwise shadow them."""
    return Config(
        retries={
            "mode": os.environ.get("AWS_RETRY_MODE", "adaptive"),
            "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "8")),
        },
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=32,
    )


# Error codes that botocore's standard and adaptive retry modes count as throttling
# (botocore/retries/standard.py, ThrottledRetryableChecker) but that CloudWatch Logs uses for a
# permanent answer: "the log group already has the maximum number of subscription filters",
# "too many log groups". Retried, a full log group cost ~30 s and 9 attempts before the conflict
# was reported, and in adaptive mode each answer also lowered the client's send rate for every
# later call. botocore has no setting for the codes it retries, hence this hook.
FINAL_ERROR_CODES = {"cloudwatch-logs": frozenset({"LimitExceededException"})}


def answer_final_errors_at_once(client: Any) -> Any:
    """Make the errors FINAL_ERROR_CODES names for this client's service reach the caller on the
    first answer: not retried, and not fed to the adaptive rate limiter.

    botocore asks every `needs-retry` handler (its retry handler, then the adaptive limiter) and
    retries when one says so; a handler registered first that raises the service's own exception
    ends the call there, as botocore would have after its last attempt."""
    service = client.meta.service_model.service_id.hyphenize()
    codes = FINAL_ERROR_CODES.get(service)
    if not codes:
        return client

    def stop_on_final_error(response=None, operation=None, **_kwargs) -> None:
        if response is None:
            return
        _http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        if code in codes:
            raise client.exceptions.from_code(code)(parsed, operation.name)

    client.meta.events.register_first(f"needs-retry.{service}", stop_on_final_error)
    return client


_lock = threading.Lock()
_cache: dict[tuple[str, str | None, str | None, str | None], Any] = {}


_session: botocore.session.Session | None = None


def _default_session() -> botocore.session.Session:
    """One botocore session per process (called under the lock)."""
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    return _session


def client(
    service: str,
    region: str | None = None,
    *,
    session: botocore.session.Session | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A cached client. Clients are thread-safe; sessions are not, hence the lock."""
    key = (service, region, endpoint_url, None if session is None else str(id(session)))
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            factory = session or _default_session()
            found = answer_final_errors_at_once(
                factory.create_client(
                    service, region_name=region, endpoint_url=endpoint_url, config=retry_config()
                )
            )
            _cache[key] = found
    return found


def reset() -> None:
    """Forget every client (tests switch endpoints and credentials between cases)."""
    global _session
    with _lock:
        _cache.clear()
        _session = None


def bounded_client(service: str, region: str, *, attempts: int = 3, read_timeout: float = 10) -> Any:
    """A client whose every call ends within about attempts x (connect + read timeout), for work
    with a deadline of its own (custom resources answer CloudFormation before the function's
    timeout). Standard retries: a hanging endpoint costs the timeouts, not adaptive waits."""
    with _lock:
        factory = _default_session()
        return factory.create_client(
            service,
            region_name=region,
            config=Config(
                retries={"mode": "standard", "max_attempts": attempts},
                connect_timeout=3,
                read_timeout=read_timeout,
            ),
        )
