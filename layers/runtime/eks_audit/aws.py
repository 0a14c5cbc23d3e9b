"""Data access: the few EKS and CloudWatch Logs calls the controller makes, nothing decided here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .constants import AUDIT_LOG_TYPE
from .model import SubscriptionFilter
from .names import log_group_name
from .ratelimit import RateLimiter


@dataclass
class ClusterApi:
    eks: Any
    logs: Any
    limiter: RateLimiter | None = None  # client-side rate per API (ratelimit.py)

    def _pace(self, api: str) -> None:
        if self.limiter is not None:
            self.limiter.acquire(api)

    def describe_cluster(self, cluster: str) -> dict[str, Any]:
        self._pace("eks:DescribeCluster")
        return self.eks.describe_cluster(name=cluster)["cluster"]

    def describe_update(self, cluster: str, update_id: str) -> dict[str, Any]:
        self._pace("eks:DescribeUpdate")
        return self.eks.describe_update(name=cluster, updateId=update_id)["update"]

    def subscription_filters(self, cluster: str) -> list[SubscriptionFilter]:
        """Raises ResourceNotFoundException when the log group does not exist."""
        found = []
        kwargs: dict[str, Any] = {"logGroupName": log_group_name(cluster)}
        while True:
            self._pace("logs:DescribeSubscriptionFilters")
            page = self.logs.describe_subscription_filters(**kwargs)
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
        self._pace("logs:CreateLogGroup")
        self.logs.create_log_group(logGroupName=log_group_name(cluster))

    def put_retention(self, cluster: str, days: int) -> None:
        self._pace("logs:PutRetentionPolicy")
        self.logs.put_retention_policy(logGroupName=log_group_name(cluster), retentionInDays=days)

    def put_filter(self, cluster: str, name: str, pattern: str, destination: str, role: str) -> None:
        self._pace("logs:PutSubscriptionFilter")
        self.logs.put_subscription_filter(
            logGroupName=log_group_name(cluster),
            filterName=name,
            filterPattern=pattern,
            destinationArn=destination,
            roleArn=role,
        )

    def enable_audit(self, cluster: str) -> str | None:
        """Enable only the audit log type; other types stay as they are. Returns the update id."""
        self._pace("eks:UpdateClusterConfig")
        response = self.eks.update_cluster_config(
            name=cluster,
            logging={"clusterLogging": [{"types": [AUDIT_LOG_TYPE], "enabled": True}]},
        )
        update = response.get("update") or {}
        return update.get("id")
