"""An in-memory EKS and CloudWatch Logs that enforce per-API quotas like AWS (a token bucket per
account, region and API; over it: ThrottlingException), with a fixed latency per call and optional
random faults. For the benchmarks and the fault-injection suite, where moto's HTTP server would
measure itself rather than the controller. Implements exactly the client calls ClusterApi makes.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .eks_lifecycle import enabled_types, logging_config, merged_types


def _public(update: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {key: value for key, value in {**update, **changes}.items() if not key.startswith("_")}


def _error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Call"
    )


class ServerBucket:
    """Non-blocking token bucket: the service's side of a quota."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.capacity, self.tokens = rate, burst, burst
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Cluster:
    name: str
    status: str = "ACTIVE"
    tags: dict[str, str] = field(default_factory=dict)
    logging: dict[str, Any] = field(default_factory=lambda: logging_config(set()))
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready_at: float = 0.0  # CREATING until then
    created_at: float = 0.0
    update_issued_at: float | None = None  # the first logging update (time_to_coverage)

    def tick(self, now: float) -> None:
        """Advance the asynchronous lifecycle to `now`, as EKS would have."""
        if self.status == "CREATING" and now >= self.ready_at:
            self.status = "ACTIVE"
        for update in self.updates.values():
            if update["status"] == "InProgress" and now >= update["_done_at"]:
                update["status"] = "Successful"
                self.logging = logging_config(update["_enabled"])
                self.status = "ACTIVE"


@dataclass
class Region:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )  # group -> filter name -> filter


FaultHook = Callable[[str, str, dict[str, Any]], None]  # (region, api, params): may raise or mutate state


class EmulatedAws:
    def __init__(
        self,
        quotas: dict[str, float],
        *,
        latency: float = 0.0,
        burst_seconds: float = 1.0,
        filter_limit: int = 2,
        fault: FaultHook | None = None,
        creating_seconds: float = 0.0,
        update_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`creating_seconds` and `update_seconds` give EKS's asynchronous timings (scaled down);
        with 0 a cluster is ACTIVE at once and a logging update takes effect at once."""
        self.quotas = quotas
        self.latency = latency
        self.burst_seconds = burst_seconds
        self.filter_limit = filter_limit
        self.fault = fault
        self.creating_seconds = creating_seconds
        self.update_seconds = update_seconds
        self.clock = clock
        self.regions: dict[str, Region] = {}
        self.buckets: dict[tuple[str, str], ServerBucket] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        self.throttled: Counter[tuple[str, str]] = Counter()
        self.lock = threading.RLock()

    def region(self, name: str) -> Region:
        with self.lock:
            return self.regions.setdefault(name, Region())

    def add_cluster(self, region: str, name: str, *, creating: bool = False, **kwargs: Any) -> Cluster:
        """An existing cluster (ACTIVE), or with `creating` one just created (CREATING a while)."""
        now = self.clock()
        cluster = Cluster(name, created_at=now, **kwargs)
        if creating and self.creating_seconds > 0:
            cluster.status, cluster.ready_at = "CREATING", now + self.creating_seconds
        self.region(region).clusters[name] = cluster
        return cluster

    def call(self, region: str, api: str, params: dict[str, Any]) -> None:
        """Every call: quota, latency, fault hook."""
        with self.lock:
            self.calls[(region, api)] += 1
            rate = self.quotas.get(api)
            bucket = None
            if rate:
                bucket = self.buckets.get((region, api))
                if bucket is None:
                    bucket = self.buckets[(region, api)] = ServerBucket(
                        rate, max(1.0, rate * self.burst_seconds)
                    )
        if self.latency:
            time.sleep(self.latency)
        if bucket is not None and not bucket.take():
            with self.lock:
                self.throttled[(region, api)] += 1
            raise _error("ThrottlingException", "Rate exceeded")
        if self.fault is not None:
            self.fault(region, api, params)

    def eks(self, region: str) -> EmulatedEks:
        return EmulatedEks(self, region)

    def logs(self, region: str) -> EmulatedLogs:
        return EmulatedLogs(self, region)

    def writes(self) -> int:
        return sum(
            n
            for (_, api), n in self.calls.items()
            if api.split(":")[1].startswith(("Create", "Put", "Update"))
        )

    def reads(self) -> int:
        return sum(self.calls.values()) - self.writes()


class _Paginator:
    def __init__(self, pages: Callable[[], list[dict[str, Any]]]):
        self._pages = pages

    def paginate(self, **_: Any):
        return iter(self._pages())


@dataclass
class EmulatedEks:
    aws: EmulatedAws
    region_name: str

    def _cluster(self, name: str) -> Cluster:
        cluster = self.aws.region(self.region_name).clusters.get(name)
        if cluster is None:
            raise _error("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
        with self.aws.lock:
            cluster.tick(self.aws.clock())
        return cluster

    def get_paginator(self, operation: str) -> _Paginator:
        assert operation == "list_clusters"

        def pages() -> list[dict[str, Any]]:
            self.aws.call(self.region_name, "eks:ListClusters", {})
            names = sorted(self.aws.region(self.region_name).clusters)
            return [{"clusters": names[i : i + 100]} for i in range(0, len(names), 100)] or [{"clusters": []}]

        return _Paginator(pages)

    def describe_cluster(self, name: str) -> dict[str, Any]:
        self.aws.call(self.region_name, "eks:DescribeCluster", {"name": name})
        cluster = self._cluster(name)
        return {
            "cluster": {
                "name": name,
                "status": cluster.status,
                "tags": dict(cluster.tags),
                "logging": cluster.logging,
            }
        }

    def update_cluster_config(self, name: str, logging: dict[str, Any]) -> dict[str, Any]:
        self.aws.call(self.region_name, "eks:UpdateClusterConfig", {"name": name})
        cluster = self._cluster(name)
        with self.aws.lock:
            if any(u["status"] == "InProgress" for u in cluster.updates.values()):
                raise _error(
                    "ResourceInUseException",
                    f"Cannot update because cluster {name} has an update in progress",
                    409,
                )
            if cluster.status != "ACTIVE":
                raise _error("InvalidRequestException", f"Cluster '{name}' is not in ACTIVE status")
            current = enabled_types(cluster.logging)
            wanted = merged_types(current, logging)
            if wanted == current:
                raise _error("InvalidParameterException", "No changes needed for the logging config provided")
            now = self.aws.clock()
            update = {"id": str(uuid.uuid4()), "status": "InProgress", "type": "LoggingUpdate", "errors": []}
            update.update(_enabled=wanted, _done_at=now + self.aws.update_seconds)
            cluster.updates[update["id"]] = update
            if cluster.update_issued_at is None:
                cluster.update_issued_at = now
            if self.aws.update_seconds > 0:
                cluster.status = "UPDATING"
            cluster.tick(now)
        return {"update": _public(update, status="InProgress")}

    def describe_update(self, name: str, updateId: str) -> dict[str, Any]:
        self.aws.call(self.region_name, "eks:DescribeUpdate", {"name": name})
        update = self._cluster(name).updates.get(updateId)
        if update is None:
            raise _error("ResourceNotFoundException", "No update found", 404)
        return {"update": _public(update)}


@dataclass
class EmulatedLogs:
    aws: EmulatedAws
    region_name: str

    def _group(self, name: str) -> dict[str, dict[str, Any]]:
        group = self.aws.region(self.region_name).groups.get(name)
        if group is None:
            raise _error("ResourceNotFoundException", "The specified log group does not exist.")
        return group

    def describe_subscription_filters(self, logGroupName: str, **_: Any) -> dict[str, Any]:
        self.aws.call(self.region_name, "logs:DescribeSubscriptionFilters", {"logGroupName": logGroupName})
        return {"subscriptionFilters": [dict(f) for f in self._group(logGroupName).values()]}

    def create_log_group(self, logGroupName: str) -> dict[str, Any]:
        self.aws.call(self.region_name, "logs:CreateLogGroup", {"logGroupName": logGroupName})
        with self.aws.lock:
            groups = self.aws.region(self.region_name).groups
            if logGroupName in groups:
                raise _error("ResourceAlreadyExistsException", "The specified log group already exists")
            groups[logGroupName] = {}
        return {}

    def put_retention_policy(self, logGroupName: str, retentionInDays: int) -> dict[str, Any]:
        self.aws.call(self.region_name, "logs:PutRetentionPolicy", {"logGroupName": logGroupName})
        self._group(logGroupName)
        return {}

    def put_subscription_filter(
        self, logGroupName: str, filterName: str, filterPattern: str, destinationArn: str, roleArn: str
    ) -> dict[str, Any]:
        self.aws.call(
            self.region_name,
            "logs:PutSubscriptionFilter",
            {"logGroupName": logGroupName, "filterName": filterName},
        )
        with self.aws.lock:
            group = self._group(logGroupName)
            if filterName not in group and len(group) >= self.aws.filter_limit:
                raise _error("LimitExceededException", "Resource limit exceeded.")
            group[filterName] = {
                "filterName": filterName,
                "filterPattern": filterPattern,
                "destinationArn": destinationArn,
                "roleArn": roleArn,
                "logGroupName": logGroupName,
            }
        return {}


def random_faults(rng: random.Random, rates: dict[str, float]) -> FaultHook:
    """A fault hook raising the named errors at the given rates (any API)."""
    errors = {
        "throttle": lambda: _error("ThrottlingException", "Rate exceeded"),
        "server": lambda: _error("ServiceUnavailableException", "injected", 503),
        "in_use": lambda: _error(
            "ResourceInUseException", "Cannot update because cluster has update in progress", 409
        ),
        "access_denied": lambda: _error("AccessDeniedException", "transient: not authorized"),
    }

    def hook(region: str, api: str, params: dict[str, Any]) -> None:
        roll = rng.random()
        for name, rate in rates.items():
            if name == "in_use" and api != "eks:UpdateClusterConfig":
                continue
            if roll < rate:
                raise errors[name]()
            roll -= rate

    return hook
