"""Controller settings: typed, read once from the environment the template sets, validated.

A bad or missing value raises `SettingsError` naming the variable and what was expected, so a
misconfigured function fails at its first invocation with a message an operator can act on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from . import constants

# PutSubscriptionFilter API reference: filterPattern, length 0 to 1024
MAX_FILTER_PATTERN_LENGTH = 1024
REGION_RE = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}")
ARN_RE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+")


class SettingsError(ValueError):
    def __init__(self, variable: str, expected: str, got: str | None):
        self.variable = variable
        shown = "missing" if got is None else f"got {got!r}"
        super().__init__(f"{variable}: expected {expected}; {shown}")


@dataclass(frozen=True)
class Settings:
    firehose_arn: str
    logs_role_arn: str
    filter_name: str = constants.DEFAULT_FILTER_NAME
    filter_pattern: str = constants.STANDARD_FILTER_PATTERN
    include_clusters: str = ".*"
    exclude_clusters: str = ""
    log_retention_days: int | None = None
    subscription_filter_limit: int = constants.DEFAULT_SUBSCRIPTION_FILTER_LIMIT
    wait_creating_seconds: int = 60
    wait_updating_seconds: int = 30
    # EKS takes minutes to create a cluster (API_CreateCluster: "In most cases, it takes several
    # minutes"): the first look at a CREATING cluster waits until it is this old (plan.py)
    expected_creating_seconds: int = 300
    reconcile_queue_url: str | None = None
    # the other regions the deployment covers (its spokes) and the prefix of their resources' names
    spoke_regions: tuple[str, ...] = ()
    spoke_name_prefix: str | None = None

    @property
    def home_region(self) -> str:
        """The region of the home stack: its delivery stream's."""
        return self.firehose_arn.split(":")[3]

    @property
    def covered_regions(self) -> tuple[str, ...]:
        return (self.home_region, *(r for r in self.spoke_regions if r != self.home_region))

    def for_region(self, region: str) -> Settings | None:
        """These settings with `region`'s delivery stream and logs role (a subscription filter's
        destination must be in the log group's region); None when the deployment does not cover it.
        A spoke's names follow from the prefix: stream `<prefix>-audit` (spoke.yaml), and the one logs
        role of every spoke region, `<prefix>-spoke-logs` (the home stack's SpokeLogsRole)."""
        if region == self.home_region:
            return self
        if region not in self.spoke_regions or not self.spoke_name_prefix:
            return None
        partition, account = self.firehose_arn.split(":")[1], self.firehose_arn.split(":")[4]
        prefix = self.spoke_name_prefix
        return replace(
            self,
            firehose_arn=f"arn:{partition}:firehose:{region}:{account}:deliverystream/{prefix}-audit",
            logs_role_arn=f"arn:{partition}:iam::{account}:role/{prefix}-spoke-logs",
        )

    @cached_property
    def _include(self) -> re.Pattern[str]:
        return re.compile(self.include_clusters)

    @cached_property
    def _exclude(self) -> re.Pattern[str] | None:
        return re.compile(self.exclude_clusters) if self.exclude_clusters else None

    def name_in_scope(self, cluster: str) -> bool:
        """Include/exclude regexes must match the whole name."""
        if self._include.fullmatch(cluster) is None:
            return False
        return self._exclude is None or self._exclude.fullmatch(cluster) is None


# variable -> (attribute, parser, expected text)
def _text(value: str) -> str:
    if not value.strip():
        raise ValueError
    return value


def _arn(value: str) -> str:
    if not ARN_RE.fullmatch(value):
        raise ValueError
    return value


def _regex(value: str) -> str:
    re.compile(value)
    return value


def _pattern(value: str) -> str:
    """Only the length PutSubscriptionFilter allows is checked here: CloudWatch Logs is the judge of a
    pattern's syntax (its answer is reported per cluster), never this library's evaluator."""
    if len(value) > MAX_FILTER_PATTERN_LENGTH:
        raise ValueError(f"got {len(value)}")
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError
    return number


def _regions(value: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not all(REGION_RE.fullmatch(region) for region in regions):
        raise ValueError
    return regions


def _retention(value: str) -> int | None:
    if value.strip() in ("", "0"):
        return None
    number = int(value)
    if number not in constants.VALID_RETENTION_DAYS:
        raise ValueError
    return number


_VARIABLES: dict[str, tuple[str, object, str]] = {
    "FIREHOSE_ARN": ("firehose_arn", _arn, "the ARN of the delivery stream"),
    "LOGS_ROLE_ARN": ("logs_role_arn", _arn, "the ARN of the logs-to-Firehose role"),
    "FILTER_NAME": ("filter_name", _text, "a non-empty subscription filter name"),
    "FILTER_PATTERN": (
        "filter_pattern",
        _pattern,
        f"a CloudWatch Logs filter pattern of at most {MAX_FILTER_PATTERN_LENGTH} characters",
    ),
    "INCLUDE_CLUSTERS": ("include_clusters", _regex, "a regular expression"),
    "EXCLUDE_CLUSTERS": ("exclude_clusters", _regex, "a regular expression (empty: none)"),
    "LOG_RETENTION_DAYS": (
        "log_retention_days",
        _retention,
        "empty or one of " + ", ".join(map(str, sorted(constants.VALID_RETENTION_DAYS))),
    ),
    "SUBSCRIPTION_FILTER_LIMIT": ("subscription_filter_limit", _positive_int, "a whole number"),
    "WAIT_CREATING_SECONDS": ("wait_creating_seconds", _positive_int, "a whole number of seconds"),
    "WAIT_UPDATING_SECONDS": ("wait_updating_seconds", _positive_int, "a whole number of seconds"),
    "EXPECTED_CREATING_SECONDS": ("expected_creating_seconds", _positive_int, "a whole number of seconds"),
    "RECONCILE_QUEUE_URL": ("reconcile_queue_url", _text, "the URL of the reconcile queue"),
    "SPOKE_REGIONS": ("spoke_regions", _regions, "comma-separated region names (empty: none)"),
    "SPOKE_NAME_PREFIX": ("spoke_name_prefix", _text, "the name prefix of the spokes' resources"),
}
_REQUIRED = ("FIREHOSE_ARN", "LOGS_ROLE_ARN")
# an empty value means something for these (ship everything, exclude nothing, no retention)
_EMPTY_ALLOWED = ("FILTER_PATTERN", "EXCLUDE_CLUSTERS", "LOG_RETENTION_DAYS", "SPOKE_REGIONS")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every variable; the first problem raises SettingsError."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for variable, (attribute, parse, expected) in _VARIABLES.items():
        raw = environ.get(variable)
        if raw is None or (raw == "" and variable not in _EMPTY_ALLOWED):
            if variable in _REQUIRED:
                raise SettingsError(variable, expected, None)
            continue
        try:
            values[attribute] = parse(raw)  # type: ignore[operator]
        except (ValueError, re.error) as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise SettingsError(variable, expected + detail, raw) from None
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.spoke_regions and not settings.spoke_name_prefix:
        raise SettingsError("SPOKE_NAME_PREFIX", "the spokes' name prefix when SPOKE_REGIONS is set", None)
    return settings
