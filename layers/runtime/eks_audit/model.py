"""The controller's vocabulary: what was observed, what is planned, what came out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    COMPLIANT = "compliant"  # audit logging on, our filter in place as configured
    PENDING = "pending"  # waiting on AWS (cluster creating/updating, update in flight): requeued
    DRIFTED = "drifted"  # changes are needed now (a plan before it is applied)
    CONFLICT = "conflict"  # no room for our filter: foreign filters fill the log group
    SKIPPED = "skipped"  # out of scope: opt-out tag, name regexes, a FAILED cluster
    GONE = "gone"  # the cluster does not exist (or is being deleted)
    ERROR = "error"  # an AWS error we cannot resolve by waiting


class Action(StrEnum):
    CREATE_LOG_GROUP = "create-log-group"
    PUT_FILTER = "put-subscription-filter"
    ENABLE_AUDIT = "enable-audit-logging"


@dataclass(frozen=True)
class SubscriptionFilter:
    name: str
    pattern: str
    destination_arn: str
    role_arn: str | None = None


@dataclass(frozen=True)
class UpdateState:
    id: str
    status: str  # InProgress | Failed | Cancelled | Successful
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observed:
    cluster: str
    region: str
    exists: bool
    status: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    enabled_log_types: frozenset[str] = frozenset()
    update: UpdateState | None = None
    log_group_exists: bool = False
    filters: tuple[SubscriptionFilter, ...] = ()
    created_at: datetime | None = None
    # False when the filters were not looked at (observe.only_follows_the_update): `filters` and
    # `log_group_exists` then say nothing
    filters_observed: bool = True

    @property
    def audit_enabled(self) -> bool:
        return "audit" in self.enabled_log_types


@dataclass(frozen=True)
class Plan:
    cluster: str
    region: str
    verdict: Verdict
    reason: str
    actions: tuple[Action, ...] = ()
    requeue_after: int | None = None
    foreign_filters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    cluster: str
    region: str
    verdict: Verdict
    reason: str
    actions: tuple[Action, ...] = ()  # taken, or with dry_run: would be taken
    requeue_after: int | None = None
    foreign_filters: tuple[str, ...] = ()
    update_id: str | None = None
    dry_run: bool = False
    # AWS refused what the settings ask for (say, the filter pattern): retrying changes nothing
    permanent: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["actions"] = [str(action) for action in self.actions]
        data["foreign_filters"] = list(self.foreign_filters)
        return data
