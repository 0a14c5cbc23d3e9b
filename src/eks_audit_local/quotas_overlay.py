"""API quotas in the local cloud: enforced per account, region and API as AWS enforces them (over
the quota: ThrottlingException, in the service's own error shape), and served through Service Quotas
(ListServiceQuotas, ListAWSDefaultServiceQuotas, GetServiceQuota, GetAWSDefaultServiceQuota for
ServiceCode `logs`), so that eks-audit finds them as it would in AWS. moto 5.2.5's Service Quotas
knows only a few VPC defaults; other service codes still go to moto.

The values, and where they come from (docs/local-cloud.md, "Quotas"):
- CloudWatch Logs: the names, default values and adjustability Service Quotas gives for service
  code `logs` (its default-quota listing; the CloudWatch Logs quotas page, cloudwatch_limits_cwl.html,
  gives the same 5 TPS for the control-plane calls). ListServiceQuotas returns only what has an
  applied value ("If the applied quota value is not available for a quota, the quota is not
  retrieved", the API reference): here the adjustable quotas and any changed with `--quotas`.
- EKS: AWS publishes no request quota for its API. The local cloud enforces values of its own,
  chosen to differ from eks-audit's assumption (eks_audit/quotas.py) so that the adaptive rate is
  exercised rather than confirmed; Service Quotas lists none, as in AWS.
- A token bucket per API with one second of burst: AWS documents the token-bucket model for EC2 and
  ECS, not for CloudWatch Logs or EKS; eks-audit works under any burst (it adapts to throttling).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eks_audit.quotas import DOCUMENTED_DEFAULTS

from .emulated import ServerBucket

# (operation, default TPS, adjustable): Service Quotas' CloudWatch Logs rate quotas
LOGS_RATE_QUOTAS: tuple[tuple[str, float, bool], ...] = (
    ("AssociateKmsKey", 5, False),
    ("CancelExportTask", 5, False),
    ("CreateExportTask", 5, False),
    ("CreateLogGroup", 5, True),
    ("CreateLogStream", 50, True),
    ("DeleteDestination", 5, False),
    ("DeleteLogGroup", 5, True),
    ("DeleteLogStream", 5, False),
    ("DeleteMetricFilter", 5, False),
    ("DeleteRetentionPolicy", 5, False),
    ("DeleteSubscriptionFilter", 5, False),
    ("DescribeDestinations", 5, False),
    ("DescribeExportTasks", 5, False),
    ("DescribeLogGroups", 5, True),
    ("DescribeLogStreams", 5, True),
    ("DescribeMetricFilters", 5, False),
    ("DescribeSubscriptionFilters", 5, False),
    ("FilterLogEvents", 10, False),
    ("GetLogEvents", 25, False),
    ("ListTagsLogGroup", 5, False),
    ("PutDestination", 5, False),
    ("PutDestinationPolicy", 5, False),
    ("PutLogEvents", 800, True),
    ("PutMetricFilter", 5, False),
    ("PutRetentionPolicy", 5, False),
    ("PutSubscriptionFilter", 5, False),
    ("StartQuery", 5, False),
    ("TagLogGroup", 5, False),
    ("TestMetricFilter", 5, False),
    ("UntagLogGroup", 5, False),
)
# EKS: no published quota; the local cloud's own choice (the module docstring says why)
EKS_RATE_QUOTAS: dict[str, float] = {
    "ListClusters": 20.0,
    "DescribeCluster": 20.0,
    "DescribeUpdate": 20.0,
    "UpdateClusterConfig": 5.0,
}


def quota_code(name: str) -> str:
    """The local cloud's code for a quota: AWS's codes are not published for each quota, and
    eks-audit matches quotas by name, so these are derived from the name and say nothing."""
    return "L-" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()


def logs_quota_name(operation: str) -> str:
    """AWS's name for the quota, written here rather than taken from eks_audit.quotas: the local
    cloud plays AWS, so that eks-audit's matching is tested against it, not against itself."""
    return f"{operation} throttle limit in transactions per second"


def default_rates() -> dict[str, float]:
    """`service:Operation` -> requests a second, as the local cloud enforces them by default."""
    rates = {f"logs:{operation}": float(value) for operation, value, _ in LOGS_RATE_QUOTAS}
    rates.update({f"eks:{operation}": value for operation, value in EKS_RATE_QUOTAS.items()})
    return rates


def parse_quotas(text: str) -> dict[str, float] | None:
    """`--quotas`: "off" lifts every quota (None); "logs:DescribeSubscriptionFilters=20,..." changes
    those named. A clear error names what is wrong."""
    text = text.strip()
    if text == "off":
        return None
    rates = default_rates()
    for part in filter(None, (p.strip() for p in text.split(","))):
        api, sep, value = part.partition("=")
        api = api.strip()
        if not sep or api not in rates:
            known = ", ".join(sorted(k for k in rates if k.startswith("eks:") or "Subscription" in k))
            raise ValueError(
                f"expected service:Operation=rate with a throttled API ({known}, ...), got {part!r}"
            )
        try:
            rates[api] = float(value)
        except ValueError:
            raise ValueError(f"{api}: expected a number, got {value.strip()!r}") from None
        if rates[api] <= 0:
            raise ValueError(f"{api}: a quota must be positive (--quotas off lifts them all)")
    return rates


@dataclass
class Quotas:
    """The enforced rates (`None`: no quota at all) and the per-region buckets."""

    rates: Mapping[str, float] | None

    def __post_init__(self) -> None:
        self._buckets: dict[tuple[str, str, str], ServerBucket] = {}
        self._lock = threading.Lock()
        self.throttled: Counter[tuple[str, str]] = Counter()  # (region, service:Operation)
        self.enforcing = False  # off while the local cloud deploys its own stack

    def admit(self, account: str, region: str, service: str, operation: str) -> bool:
        """Whether AWS would serve this call now (False: answer ThrottlingException)."""
        api = f"{service}:{operation}"
        if not self.enforcing or self.rates is None or api not in self.rates:
            return True
        with self._lock:
            bucket = self._buckets.get((account, region, api))
            if bucket is None:
                rate = self.rates[api]
                bucket = self._buckets[(account, region, api)] = ServerBucket(rate, max(1.0, rate))
            if bucket.take():
                return True
            self.throttled[(region, api)] += 1
            return False

    def describe(self) -> list[str]:
        """What `local serve` prints at start."""
        if self.rates is None:
            return ["API quotas: none (--quotas off)"]
        defaults = default_rates()
        shown = [
            api
            for api in sorted(self.rates)
            if api.startswith("eks:") or api in PACED_LOGS_APIS or self.rates[api] != defaults.get(api)
        ]
        return [
            "API quotas per region (requests a second; --quotas changes them, --quotas off lifts them):"
        ] + [
            f"  {api} {self.rates[api]:g}" + ("" if self.rates[api] == defaults.get(api) else " (changed)")
            for api in shown
        ]

    # -- Service Quotas -------------------------------------------------------------------------

    def _quota(
        self, account: str, region: str, operation: str, value: float, adjustable: bool
    ) -> dict[str, Any]:
        name = logs_quota_name(operation)
        return {
            "ServiceCode": "logs",
            "ServiceName": "Amazon CloudWatch Logs",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:logs/{quota_code(name)}",
            "QuotaCode": quota_code(name),
            "QuotaName": name,
            "Value": value,
            "Unit": "None",
            "Adjustable": adjustable,
            "GlobalQuota": False,
        }

    def listing(self, account: str, region: str, applied: bool) -> list[dict[str, Any]]:
        """ListServiceQuotas (`applied`) or ListAWSDefaultServiceQuotas, for service code logs."""
        found = []
        for operation, default, adjustable in LOGS_RATE_QUOTAS:
            current = default if self.rates is None else self.rates.get(f"logs:{operation}", default)
            if not applied:
                found.append(self._quota(account, region, operation, float(default), adjustable))
            elif adjustable or current != default:
                found.append(self._quota(account, region, operation, float(current), adjustable))
        return found


# what eks-audit paces among them: shown at start whatever their value
PACED_LOGS_APIS = frozenset(api for api in DOCUMENTED_DEFAULTS if api.startswith("logs:"))
_PAGE = 20  # small pages, so that clients must follow NextToken as they must in AWS


def answer_service_quotas(
    quotas: Quotas, account: str, region: str, target: str, body: bytes
) -> tuple[int, dict] | None:
    """The Service Quotas answer for a `logs` request, or None to leave the request to moto."""
    operation = target.rpartition(".")[2]
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    if request.get("ServiceCode") != "logs":
        return None
    if operation in ("ListServiceQuotas", "ListAWSDefaultServiceQuotas"):
        listing = quotas.listing(account, region, applied=operation == "ListServiceQuotas")
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or _PAGE)
        answer: dict[str, Any] = {"Quotas": listing[start : start + size]}
        if start + size < len(listing):
            answer["NextToken"] = str(start + size)
        return 200, answer
    if operation in ("GetServiceQuota", "GetAWSDefaultServiceQuota"):
        listing = quotas.listing(account, region, applied=operation == "GetServiceQuota")
        for quota in listing:
            if quota["QuotaCode"] == request.get("QuotaCode"):
                return 200, {"Quota": quota}
        return 400, {
            "__type": "NoSuchResourceException",
            "Message": f"The request failed because the specified quota {request.get('QuotaCode')} does not exist.",
        }
    return None
