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


def observe(
    api: ClusterApi, cluster: str, region: str, update_id: str | None = None, *, filter_in_place: bool = False
) -> Observed:
    """Raises ClientError for anything but "not found" (the caller decides what that means).
    `filter_in_place`: this look follows up our own update, issued with our filter in place."""
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

    enabled = enabled_log_types(described)
    filters, group_exists, filters_observed = (), True, False
    if not (filter_in_place and only_follows_the_update(update, enabled)):
        filters_observed = True
        try:
            filters = tuple(api.subscription_filters(cluster))
        except ClientError as exc:
            if classify(exc) is not ErrorKind.NOT_FOUND:
                raise
            group_exists = False

    return Observed(
        cluster=cluster,
        region=region,
        exists=True,
        status=described.get("status"),
        tags=described.get("tags") or {},
        enabled_log_types=enabled,
        update=update,
        log_group_exists=group_exists,
        filters=filters,
        created_at=described.get("createdAt"),
        filters_observed=filters_observed,
    )


def only_follows_the_update(update: UpdateState | None, enabled: frozenset[str]) -> bool:
    """Our own follow-up (the caller says so) of a logging update that is still running, or that
    has switched audit logging on, needs no look at the filters: the step that issued the update had
    the filter in place (with no conflict), and this step enables nothing. Anyone else's update
    (an UpdateClusterConfig event) gets a full look. That spares DescribeSubscriptionFilters, the scarcest quota (5/s an
    account), one call per onboarded cluster (docs/scale.md, "burst"). A change to the filter by
    anyone else in between comes back as its own event, and the sweep looks at everything."""
    if update is None:
        return False
    return update.status == "InProgress" or (update.status == "Successful" and "audit" in enabled)
