"""The request rates eks-audit paces itself to, read from the account (Service Quotas) where AWS
publishes them, and a documented default where it does not (docs/scale.md, "API quotas").

CloudWatch Logs publishes a quota per API in Service Quotas (service code `logs`), named
"<Operation> throttle limit in transactions per second"; EKS publishes none for its API. The applied
value is asked first (ListServiceQuotas: "If the applied quota value is not available for a quota,
the quota is not retrieved", botocore's service model), then the default (ListAWSDefaultServiceQuotas),
matched by the quota's name. Whatever Service Quotas answers, or fails to answer (no permission, no
endpoint), a rate is always chosen: reading quotas never fails a command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The APIs eks-audit paces, with the per-account, per-region default it assumes (requests a second)
# when the account says nothing. CloudWatch Logs' defaults are the values Service Quotas lists for
# them (5 TPS each, CloudWatch Logs quotas page); EKS publishes no request quota, so its numbers are
# assumptions, the starting point of the adaptive rate (ratelimit.py) rather than a limit.
DOCUMENTED_DEFAULTS: dict[str, float] = {
    "eks:ListClusters": 10.0,
    "eks:DescribeCluster": 10.0,
    "eks:DescribeUpdate": 10.0,
    "eks:UpdateClusterConfig": 2.0,
    "logs:DescribeSubscriptionFilters": 5.0,
    "logs:PutSubscriptionFilter": 5.0,
    "logs:CreateLogGroup": 5.0,
    "logs:PutRetentionPolicy": 5.0,
}
QUOTA_SERVICE = "logs"  # the only paced service with quotas in Service Quotas


def quota_name(api: str) -> str | None:
    """The Service Quotas name of a CloudWatch Logs API's rate quota; None for other services."""
    service, _, operation = api.partition(":")
    if service != QUOTA_SERVICE:
        return None
    return f"{operation} throttle limit in transactions per second"


def _normalised(name: str) -> str:
    """AWS's names are not uniform in spacing ("GetQueryResults  throttle limit ..."): compare them
    case-blind with runs of white space as one."""
    return re.sub(r"\s+", " ", name).strip().lower()


@dataclass(frozen=True)
class Rate:
    """A quota in requests a second, where it came from, and whether it is the account's own
    number (a ceiling) or an assumption (a starting point to adapt from)."""

    value: float
    source: str
    known: bool
    fallback: str | None = None  # why Service Quotas could not give it (no permission, no answer)

    def describe(self, api: str) -> str:
        return f"{api} {self.value:g}/s ({self.source})"


@dataclass(frozen=True)
class QuotaReading:
    """What Service Quotas said, by normalised quota name: the applied values and the defaults.
    `problem` says why nothing (or only part) could be read."""

    applied: Mapping[str, float]
    defaults: Mapping[str, float]
    problem: str | None = None


def choose_rates(
    reading: QuotaReading,
    overrides: Mapping[str, float] | None = None,
    defaults: Mapping[str, float] = DOCUMENTED_DEFAULTS,
) -> dict[str, Rate]:
    """Per API: an override (RATE_LIMITS) first, then the applied quota, then AWS's default quota,
    then the documented default. Pure: the decision, apart from the reading."""
    overrides = overrides or {}
    rates: dict[str, Rate] = {}
    for api, default in defaults.items():
        name = quota_name(api)
        key = _normalised(name) if name else None
        if api in overrides:
            rates[api] = Rate(overrides[api], "RATE_LIMITS", known=True)
        elif key is not None and key in reading.applied:
            rates[api] = Rate(reading.applied[key], f"Service Quotas, applied quota {name!r}", known=True)
        elif key is not None and key in reading.defaults:
            rates[api] = Rate(
                reading.defaults[key], f"Service Quotas, AWS default quota {name!r}", known=True
            )
        elif key is None:
            rates[api] = Rate(default, "documented default: the service publishes no quota", known=False)
        else:
            why = reading.problem or "Service Quotas lists no such quota"
            rates[api] = Rate(default, f"documented default: {why}", known=False, fallback=reading.problem)
    for api, value in overrides.items():
        rates.setdefault(api, Rate(value, "RATE_LIMITS", known=True))
    return rates


def _values(pages: Iterable[dict[str, Any]]) -> dict[str, float]:
    return {
        _normalised(quota["QuotaName"]): float(quota["Value"])
        for page in pages
        for quota in page.get("Quotas", [])
        if "QuotaName" in quota and quota.get("Value") is not None
    }


def _describe_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"Service Quotas answered {error.get('Code')}: {error.get('Message', '')}".rstrip(": ")
    return f"Service Quotas unreachable: {exc}"


def read_quotas(client: Any, wanted: Iterable[str] = DOCUMENTED_DEFAULTS) -> QuotaReading:
    """Ask Service Quotas for the applied and default values of the CloudWatch Logs quotas. The
    defaults are asked only when an applied value is missing. Never raises."""
    names = {_normalised(name) for api in wanted if (name := quota_name(api))}
    if not names:
        return QuotaReading({}, {})
    try:
        applied = _values(client.get_paginator("list_service_quotas").paginate(ServiceCode=QUOTA_SERVICE))
    except Exception as exc:  # any failure means: fall back, and say why
        applied, problem = {}, _describe_error(exc)
    else:
        problem = None
    if names <= applied.keys():
        return QuotaReading(applied, {})
    try:
        defaults = _values(
            client.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode=QUOTA_SERVICE)
        )
    except Exception as exc:
        return QuotaReading(applied, {}, problem or _describe_error(exc))
    return QuotaReading(applied, defaults, problem)


def rates_for_region(
    client_for: Callable[[str], Any], region: str, overrides: Mapping[str, float] | None = None
) -> dict[str, Rate]:
    """Read (one region's quotas: they are per account and region) and choose."""
    try:
        client = client_for(region)
    except Exception as exc:  # no client (no credentials, say): the defaults
        return choose_rates(QuotaReading({}, {}, f"Service Quotas unreachable: {exc}"), overrides)
    return choose_rates(read_quotas(client), overrides)
