"""EKS cluster names and the names of the log groups EKS writes them to."""

from __future__ import annotations

import re

# EKS: "can contain only alphanumeric characters (case-sensitive), hyphens, and underscores.
# It must start with an alphanumeric character and can't be longer than 100 characters."
CLUSTER_NAME_RE = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
LOG_GROUP_RE = re.compile(r"/aws/eks/([^/]+)/cluster")
CLUSTER_ARN_RE = re.compile(r"arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster/([^/]+)")
AUDIT_STREAM_PREFIX = "kube-apiserver-audit-"


def is_valid_cluster_name(name: object) -> bool:
    return isinstance(name, str) and CLUSTER_NAME_RE.fullmatch(name) is not None


def log_group_name(cluster: str) -> str:
    return f"/aws/eks/{cluster}/cluster"


def cluster_from_log_group(group: str) -> str | None:
    """The cluster name of exactly `/aws/eks/<name>/cluster`, else None.

    `/aws/eks/x/cluster-archive` or `/aws/eks/x/cluster/extra` are not a cluster's group.
    A name that EKS would not accept is returned as is: callers decide what to do with it.
    """
    match = LOG_GROUP_RE.fullmatch(group)
    return match.group(1) if match else None


def log_group_from_identifier(identifier: str) -> str:
    """Accept a log group name or its ARN (`arn:aws:logs:r:a:log-group:NAME[:*]`)."""
    if identifier.startswith("arn:"):
        _, _, rest = identifier.partition(":log-group:")
        return rest[:-2] if rest.endswith(":*") else rest
    return identifier


def cluster_from_arn(arn: str) -> str | None:
    """The name in `arn:<partition>:eks:<region>:<account>:cluster/<name>`; None for any other ARN
    (node groups, add-ons, Fargate profiles, other services) and for a name EKS would not accept."""
    match = CLUSTER_ARN_RE.fullmatch(arn)
    if match is None or not is_valid_cluster_name(match.group(1)):
        return None
    return match.group(1)
