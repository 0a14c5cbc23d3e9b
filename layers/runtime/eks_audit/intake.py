"""Event intake: what the reconcile queue can carry -> "reconcile this cluster" or "ignore, because".

Messages are EventBridge "AWS API Call via CloudTrail" events for the eks and logs calls the rules
watch, or explicit requests `{"cluster": NAME, "region": R}` (from the sweeper, a requeue or an
operator). Pure: no AWS calls. Hand-written rather than Powertools Parser models so that an error
names the exact field path and the hot path imports nothing heavy.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .names import cluster_from_arn, cluster_from_log_group, is_valid_cluster_name, log_group_from_identifier

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EKS_EVENTS = frozenset({"CreateCluster", "UpdateClusterConfig", "DeleteCluster"})
# Tag changes: removing the opt-out tag must onboard a cluster at once, not at the next sweep.
EKS_TAG_EVENTS = frozenset({"TagResource", "UntagResource"})
LOGS_EVENTS = frozenset(
    {"CreateLogGroup", "DeleteLogGroup", "PutSubscriptionFilter", "DeleteSubscriptionFilter"}
)
EVENT_SOURCES = {"aws.eks": "eks.amazonaws.com", "aws.logs": "logs.amazonaws.com"}


class MalformedMessage(ValueError):
    """The message cannot be understood; `field` names the offending part (a dotted path)."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class ReconcileRequest:
    cluster: str
    region: str
    account: str | None = None
    trigger: str = "request"
    update_id: str | None = None
    # a requeue that must wait longer than SQS allows carries the remaining seconds
    wait_seconds: int = 0
    # our own follow-up of a logging update we issued with our filter in place (worker.py): only
    # then may the look spare the filters' read (observe.only_follows_the_update)
    filter_in_place: bool = False

    def to_message(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, 0)}


@dataclass(frozen=True)
class Ignore:
    reason: str


Decision = ReconcileRequest | Ignore


def parse_message(
    message: Any, *, default_region: str | None = None, own_role_arn: str | None = None
) -> Decision:
    """Decide what a queue message asks for. Raises MalformedMessage naming the field.

    `own_role_arn` is the controller's role: CloudTrail records its own calls too, and the rules
    send them back; such an echo asks nothing the controller has not already followed up itself."""
    if isinstance(message, (bytes, bytearray)):
        message = message.decode("utf-8", errors="replace")
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError as exc:
            raise MalformedMessage("body", f"not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise MalformedMessage("body", f"expected a JSON object, got {type(message).__name__}")
    if "detail-type" in message or "detail" in message:
        return _from_eventbridge(message, own_role_arn)
    if "cluster" in message:
        return _from_request(message, default_region)
    raise MalformedMessage("body", "neither an EventBridge event nor a request with 'cluster' and 'region'")


def _from_request(message: dict[str, Any], default_region: str | None) -> Decision:
    cluster = message["cluster"]
    if not is_valid_cluster_name(cluster):
        raise MalformedMessage("cluster", f"not a valid EKS cluster name: {_show(cluster)}")
    region = message.get("region", default_region)
    if not isinstance(region, str) or not region:
        raise MalformedMessage("region", "missing or not a string")
    account = _optional_str(message, "account")
    update_id = _optional_str(message, "update_id")
    trigger = _optional_str(message, "trigger") or "request"
    wait = message.get("wait_seconds", 0)
    if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
        raise MalformedMessage("wait_seconds", "expected a whole number >= 0")
    filter_in_place = message.get("filter_in_place", False)
    if not isinstance(filter_in_place, bool):
        raise MalformedMessage("filter_in_place", "expected true or false")
    return ReconcileRequest(cluster, region, account, trigger, update_id, wait, filter_in_place)


def _from_eventbridge(event: dict[str, Any], own_role_arn: str | None = None) -> Decision:
    detail_type = event.get("detail-type")
    if detail_type != CLOUDTRAIL_DETAIL_TYPE:
        return Ignore(f"detail-type {_show(detail_type)} is not a CloudTrail API call")
    source = event.get("source")
    if source not in EVENT_SOURCES:
        return Ignore(f"source {_show(source)} is not watched (only aws.eks and aws.logs)")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedMessage("detail", "missing or not an object")
    event_source = detail.get("eventSource")
    if event_source != EVENT_SOURCES[source]:
        return Ignore(f"eventSource {_show(event_source)} does not belong to {source}")
    name = detail.get("eventName")
    if not isinstance(name, str):
        raise MalformedMessage("detail.eventName", "missing or not a string")
    if detail.get("errorCode"):
        return Ignore(f"{name} failed ({detail['errorCode']}): a failed call changes nothing")
    if own_role_arn and caller_role(detail) == own_role_arn:
        return Ignore(f"{name} was the controller's own call: already followed up")
    region = detail.get("awsRegion") or event.get("region")
    if not isinstance(region, str) or not region:
        raise MalformedMessage("detail.awsRegion", "missing or not a string")
    account = event.get("account") or detail.get("recipientAccountId")
    if account is not None and not isinstance(account, str):
        raise MalformedMessage("account", "not a string")
    params = detail.get("requestParameters")
    if name in EKS_EVENTS:
        cluster = _eks_cluster_name(params)
        update_id = None
        if name == "UpdateClusterConfig":
            update = (detail.get("responseElements") or {}).get("update")
            if isinstance(update, dict) and isinstance(update.get("id"), str):
                update_id = update["id"]
        return ReconcileRequest(cluster, region, account, name, update_id)
    if name in EKS_TAG_EVENTS:
        return _from_tag_event(name, params, event.get("resources"), region, account)
    if name in LOGS_EVENTS:
        return _from_logs_event(name, params, region, account)
    return Ignore(f"{source} {name} is not a watched call")


def caller_role(detail: dict[str, Any]) -> str | None:
    """The IAM role whose session made the call (CloudTrail's userIdentity.sessionContext.sessionIssuer
    for an AssumedRole identity, which is how a Lambda function's calls are recorded)."""
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict) or identity.get("type") != "AssumedRole":
        return None
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    arn = issuer.get("arn") if isinstance(issuer, dict) else None
    return arn if isinstance(arn, str) else None


def _eks_cluster_name(params: Any) -> str:
    if not isinstance(params, dict):
        raise MalformedMessage("detail.requestParameters", "missing or not an object")
    # current records say `name`, older ones `clusterName`
    for key in ("name", "clusterName"):
        if key in params:
            value = params[key]
            if not is_valid_cluster_name(value):
                raise MalformedMessage(
                    f"detail.requestParameters.{key}",
                    f"not a valid EKS cluster name: {_show(value)}",
                )
            return value
    raise MalformedMessage("detail.requestParameters.name", "missing")


def _from_tag_event(name: str, params: Any, resources: Any, region: str, account: str | None) -> Decision:
    """The tagged resource's ARN; CloudTrail spells the key resourceArn or resourceARN depending on
    the service (EKS's is undocumented), and may also list it under `resources`."""
    arns = []
    if isinstance(params, dict):
        arns += [params[key] for key in ("resourceArn", "resourceARN") if isinstance(params.get(key), str)]
    if isinstance(resources, list):
        arns += [
            item.get("ARN")
            for item in resources
            if isinstance(item, dict) and isinstance(item.get("ARN"), str)
        ]
    if not arns:
        raise MalformedMessage("detail.requestParameters.resourceArn", "missing or not a string")
    for arn in arns:
        cluster = cluster_from_arn(arn)
        if cluster is not None:
            return ReconcileRequest(cluster, region, account, name)
    return Ignore(f"{name} on {_show(arns[0])}: not an EKS cluster")


def _from_logs_event(name: str, params: Any, region: str, account: str | None) -> Decision:
    if not isinstance(params, dict):
        raise MalformedMessage("detail.requestParameters", "missing or not an object")
    identifier = params.get("logGroupName", params.get("logGroupIdentifier"))
    if not isinstance(identifier, str):
        raise MalformedMessage("detail.requestParameters.logGroupName", "missing or not a string")
    group = log_group_from_identifier(identifier)
    cluster = cluster_from_log_group(group)
    if cluster is None:
        return Ignore(f"log group {_show(group)} is not an EKS cluster log group")
    if not is_valid_cluster_name(cluster):
        return Ignore(f"log group {_show(group)} names no valid EKS cluster")
    return ReconcileRequest(cluster, region, account, name)


def _optional_str(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedMessage(key, "not a string")
    return value


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
