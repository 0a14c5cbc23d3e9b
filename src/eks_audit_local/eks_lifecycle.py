"""EKS as AWS runs it, on top of moto (whose clusters are ACTIVE at once and whose
UpdateClusterConfig replaces the logging config and returns no update).

After `install()`, in-process (`mock_aws`) and over HTTP (moto's server) alike:
- a new cluster is CREATING for `creating_seconds`, then ACTIVE;
- UpdateClusterConfig refuses while the cluster is not ACTIVE (InvalidRequestException) or while
  another update is in progress (ResourceInUseException), answers "No changes needed for the
  logging config provided" when nothing changes, merges the log types named into the current
  config, and returns an `update` (InProgress, then Successful after `update_seconds`, when the
  new config takes effect and the cluster is ACTIVE again, having been UPDATING);
- DescribeUpdate and ListUpdates work;
- when a log type is on once the cluster is ACTIVE (at creation or after an update), the log group
  `/aws/eks/<name>/cluster` exists: EKS creates it when it is missing and uses it when it is there
  (control-plane-logs.html), moto creates none.

Time comes from `clock`, which tests replace to step through the lifecycle.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@dataclass
class Lifecycle:
    creating_seconds: float = 3.0
    update_seconds: float = 2.0
    clock: Callable[[], float] = time.monotonic
    lock: threading.RLock = field(default_factory=threading.RLock)


LIFECYCLE = Lifecycle()
_installed = False


def enabled_types(logging: dict[str, Any] | None) -> set[str]:
    enabled: set[str] = set()
    for entry in (logging or {}).get("clusterLogging") or []:
        if entry.get("enabled"):
            enabled.update(entry.get("types") or ())
    return enabled


def merged_types(current: set[str], request: dict[str, Any]) -> set[str]:
    result = set(current)
    for entry in request.get("clusterLogging") or []:
        types = set(entry.get("types") or ())
        if entry.get("enabled"):
            result |= types
        else:
            result -= types
    return result


def logging_config(enabled: set[str]) -> dict[str, Any]:
    entries = [{"types": sorted(enabled), "enabled": True}] if enabled else []
    disabled = sorted(set(LOG_TYPES) - enabled)
    if disabled:
        entries.append({"types": disabled, "enabled": False})
    return {"clusterLogging": entries}


def _tick(cluster: Any) -> None:
    """Advance one cluster's lifecycle to the present."""
    now = LIFECYCLE.clock()
    ready_at = getattr(cluster, "_ready_at", None)
    if cluster.status == "CREATING" and ready_at is not None and now >= ready_at:
        cluster.status = "ACTIVE"
        _ensure_log_group(cluster)
    for update in getattr(cluster, "_updates", {}).values():
        if update["status"] == "InProgress" and now >= update["_done_at"]:
            update["status"] = "Successful"
            cluster.logging = logging_config(update["_enabled"])
            cluster.status = "ACTIVE"
            _ensure_log_group(cluster)


def tick_all() -> None:
    """Advance every cluster's lifecycle to the present: AWS's time passes whether or not anyone
    calls DescribeCluster (the local cloud runs this on a timer)."""
    from moto.eks.models import eks_backends

    with LIFECYCLE.lock:
        for account in list(eks_backends.keys()):
            for region in list(eks_backends[account].keys()):
                for cluster in list(eks_backends[account][region].clusters.values()):
                    _tick(cluster)


def _ensure_log_group(cluster: Any) -> None:
    """EKS writes control-plane logs to /aws/eks/<name>/cluster and creates it when it is missing."""
    if not enabled_types(cluster.logging):
        return
    from moto.logs.models import logs_backends

    _, _, _, region, account, _ = cluster.arn.split(":", 5)
    backend = logs_backends[account][region]
    name = f"/aws/eks/{cluster.name}/cluster"
    if name not in backend.groups:
        backend.create_log_group(name, tags={})


def _public(update: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in update.items() if not key.startswith("_")}


def install(
    creating_seconds: float | None = None,
    update_seconds: float | None = None,
    clock: Callable[[], float] | None = None,
) -> Lifecycle:
    """Patch moto's EKS backend and responses (idempotent); returns the shared lifecycle settings."""
    global _installed
    if creating_seconds is not None:
        LIFECYCLE.creating_seconds = creating_seconds
    if update_seconds is not None:
        LIFECYCLE.update_seconds = update_seconds
    if clock is not None:
        LIFECYCLE.clock = clock
    if _installed:
        return LIFECYCLE
    _installed = True

    from moto.eks import exceptions, urls
    from moto.eks.models import EKSBackend
    from moto.eks.responses import EKSResponse

    original_create = EKSBackend.create_cluster
    original_describe = EKSBackend.describe_cluster

    def create_cluster(self, *args, **kwargs):
        cluster = original_create(self, *args, **kwargs)
        with LIFECYCLE.lock:
            cluster._updates = {}
            # AWS keeps logging as requested at creation; normalise its shape
            cluster.logging = logging_config(enabled_types(cluster.logging))
            if LIFECYCLE.creating_seconds > 0:
                cluster.status = "CREATING"
                cluster._ready_at = LIFECYCLE.clock() + LIFECYCLE.creating_seconds
            else:
                _ensure_log_group(cluster)
        return cluster

    def describe_cluster(self, name):
        cluster = original_describe(self, name)
        with LIFECYCLE.lock:
            _tick(cluster)
        return cluster

    def cluster_or_404(self, name):
        cluster = self.clusters.get(name)
        if cluster is None:
            raise exceptions.ResourceNotFoundException(
                clusterName=name,
                nodegroupName=None,
                fargateProfileName=None,
                addonName=None,
                message=f"No cluster found for name: {name}.",
            )
        return cluster

    def update_cluster_config(self, name, resources_vpc_config=None, logging=None, **kwargs):
        cluster = cluster_or_404(self, name)
        with LIFECYCLE.lock:
            _tick(cluster)
            in_flight = [u for u in cluster._updates.values() if u["status"] == "InProgress"]
            if in_flight:
                raise exceptions.ResourceInUseException(
                    clusterName=name,
                    nodegroupName=None,
                    addonName=None,
                    message=f"Cannot update because cluster {name} currently has update "
                    f"{in_flight[0]['id']} in progress",
                )
            if cluster.status != "ACTIVE":
                raise exceptions.InvalidRequestException(message=f"Cluster '{name}' is not in ACTIVE status")
            if not logging:
                if resources_vpc_config:
                    cluster.resources_vpc_config = resources_vpc_config
                return {
                    "id": str(uuid.uuid4()),
                    "status": "Successful",
                    "type": "EndpointAccessUpdate",
                    "params": [],
                    "createdAt": datetime.now(UTC),
                    "errors": [],
                }
            current = enabled_types(cluster.logging)
            wanted = merged_types(current, logging)
            if wanted == current:
                raise exceptions.InvalidParameterException(
                    message="No changes needed for the logging config provided"
                )
            update = {
                "id": str(uuid.uuid4()),
                "status": "InProgress",
                "type": "LoggingUpdate",
                "params": [{"type": "ClusterLogging", "value": json.dumps(logging)}],
                "createdAt": datetime.now(UTC),
                "errors": [],
                "_done_at": LIFECYCLE.clock() + LIFECYCLE.update_seconds,
                "_enabled": wanted,
            }
            cluster._updates[update["id"]] = update
            cluster.status = "UPDATING"
            _tick(cluster)
            return _public(update)

    def describe_update(self, name, update_id):
        cluster = cluster_or_404(self, name)
        with LIFECYCLE.lock:
            _tick(cluster)
            update = cluster._updates.get(update_id)
        if update is None:
            raise exceptions.ResourceNotFoundException(
                clusterName=name,
                nodegroupName=None,
                fargateProfileName=None,
                addonName=None,
                message=f"No update found for ID: {update_id}",
            )
        return _public(update)

    def list_updates(self, name):
        cluster = cluster_or_404(self, name)
        return list(getattr(cluster, "_updates", {}))

    EKSBackend.create_cluster = create_cluster
    EKSBackend.describe_cluster = describe_cluster
    EKSBackend.update_cluster_config = update_cluster_config
    EKSBackend.describe_update = describe_update
    EKSBackend.list_updates = list_updates

    from moto.core.responses import ActionResult

    def response_update_cluster_config(self):
        update = self.eks_backend.update_cluster_config(
            name=self._get_param("name"),
            resources_vpc_config=self._get_param("resourcesVpcConfig"),
            logging=self._get_param("logging"),
        )
        return ActionResult({"update": update})

    def response_describe_update(self):
        update = self.eks_backend.describe_update(self._get_param("name"), self._get_param("updateId"))
        return ActionResult({"update": update})

    def response_list_updates(self):
        return ActionResult({"updateIds": self.eks_backend.list_updates(self._get_param("name"))})

    EKSResponse.update_cluster_config = response_update_cluster_config
    EKSResponse.describe_update = response_describe_update
    EKSResponse.list_updates = response_list_updates
    urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates$"] = urls.response.dispatch
    urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = urls.response.dispatch
    return LIFECYCLE
