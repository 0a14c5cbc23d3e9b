"""Observe one cluster: two reads when it is compliant (DescribeCluster, DescribeSubscriptionFilters)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from .aws import ClusterApi
from .errors import ErrorKind, classify
from .model import Observed, UpdateState


def enabled_log_types(cluster: dict) -> frozenset[str]:
    enabled: set[str] = set()
    for entry in (cluster.get("logging") or {}).get("clusterLogging") or []:
        if entry.get("enabled"):
            enabled.update(entry.get("types") or ())
    return frozenset(enabled)


def observe(api: ClusterApi, cluster: str, region: str, update_id: str | None = None) -> Observed:
    """Raises ClientError for anything but "not found" (the caller decides what that means)."""
    try:
        described = api.describe_cluster(cluster)
    except ClientError as exc:
        if classify(exc) is ErrorKind.NOT_FOUND:
            return Observed(cluster, region, exists=False)
        raise

    update = None
    if update_id:
        try:
            found = api.describe_update(cluster, update_id)
            errors = tuple(
                f"{e.get('errorCode', '')}: {e.get('errorMessage', '')}".strip(": ")
                for e in found.get("errors") or ()
            )
            update = UpdateState(update_id, found.get("status", ""), errors)
        except ClientError as exc:
            if classify(exc) is not ErrorKind.NOT_FOUND:
                raise

    try:
        filters = tuple(api.subscription_filters(cluster))
        group_exists = True
    except ClientError as exc:
        if classify(exc) is not ErrorKind.NOT_FOUND:
            raise
        filters, group_exists = (), False

    return Observed(
        cluster=cluster,
        region=region,
        exists=True,
        status=described.get("status"),
        tags=described.get("tags") or {},
        enabled_log_types=enabled_log_types(described),
        update=update,
        log_group_exists=group_exists,
        filters=filters,
        created_at=described.get("createdAt"),
    )
