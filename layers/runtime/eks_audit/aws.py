"""Data access: the few EKS and CloudWatch Logs calls the controller makes, nothing decided here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import ratelimit
from .constants import AUDIT_LOG_TYPE
from .model import SubscriptionFilter
from .names import log_group_name
from .ratelimit import RateLimiter


def _is_botocore(client: Any) -> bool:
    """A botocore client (it has `meta`), as opposed to the emulated AWS's stand-ins."""
    return hasattr(client, "meta")


@dataclass
class ClusterApi:
    eks: Any
    logs: Any
    limiter: RateLimiter | None = None  # client-side rate per API (ratelimit.py)

    def __post_init__(self) -> None:
        """botocore clients report every answer to the limiter themselves (retries included)."""
        if self.limiter is None:
            return
        for client in (self.eks, self.logs):
            if _is_botocore(client):
                ratelimit.watch(client, self.limiter)

    def _pace(self, api: str) -> None:
        if self.limiter is not None:
            self.limiter.acquire(api)

    def _call(self, client: Any, api: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        """Paced; the answer is fed to the adaptive rate when the client does not report it."""
        self._pace(api)
        report = self.limiter is not None and not _is_botocore(client)
        try:
            answer = method(**kwargs)
        except ClientError as exc:
            if report:
                error = exc.response.get("Error", {})
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                self.limiter.observe(api, ratelimit.is_throttling(error.get("Code"), status))
            raise
        if report:
            self.limiter.observe(api, False)
        return answer

    def describe_cluster(self, cluster: str) -> dict[str, Any]:
        return self._call(self.eks, "eks:DescribeCluster", self.eks.describe_cluster, name=cluster)["cluster"]

    def describe_update(self, cluster: str, update_id: str) -> dict[str, Any]:
        answer = self._call(
            self.eks, "eks:DescribeUpdate", self.eks.describe_update, name=cluster, updateId=update_id
        )
        return answer["update"]

    def subscription_filters(self, cluster: str) -> list[SubscriptionFilter]:
        """Raises ResourceNotFoundException when the log group does not exist."""
        found = []
        kwargs: dict[str, Any] = {"logGroupName": log_group_name(cluster)}
        while True:
            page = self._call(
                self.logs,
                "logs:DescribeSubscriptionFilters",
                self.logs.describe_subscription_filters,
                **kwargs,
            )
            for item in page.get("subscriptionFilters", []):
                found.append(
                    SubscriptionFilter(
                        name=item["filterName"],
                        pattern=item.get("filterPattern", ""),
                        destination_arn=item.get("destinationArn", ""),
                        role_arn=item.get("roleArn"),
                    )
                )
            if not page.get("nextToken"):
                return found
            kwargs["nextToken"] = page["nextToken"]

    def create_log_group(self, cluster: str) -> None:
        self._call(
            self.logs, "logs:CreateLogGroup", self.logs.create_log_group, logGroupName=log_group_name(cluster)
        )

    def put_retention(self, cluster: str, days: int) -> None:
        self._call(
            self.logs,
            "logs:PutRetentionPolicy",
            self.logs.put_retention_policy,
            logGroupName=log_group_name(cluster),
            retentionInDays=days,
        )

    def put_filter(self, cluster: str, name: str, pattern: str, destination: str, role: str) -> None:
        self._call(
            self.logs,
            "logs:PutSubscriptionFilter",
            self.logs.put_subscription_filter,
            logGroupName=log_group_name(cluster),
            filterName=name,
            filterPattern=pattern,
            destinationArn=destination,
            roleArn=role,
        )

    def enable_audit(self, cluster: str) -> str | None:
        """Enable only the audit log type; other types stay as they are. Returns the update id."""
        response = self._call(
            self.eks,
            "eks:UpdateClusterConfig",
            self.eks.update_cluster_config,
            name=cluster,
            logging={"clusterLogging": [{"types": [AUDIT_LOG_TYPE], "enabled": True}]},
        )
        update = response.get("update") or {}
        return update.get("id")
