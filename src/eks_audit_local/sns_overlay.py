"""SNS to SQS from a topic in an opt-in region, as AWS documents it, where moto 5.2.5 delivers to any
queue whatever its policy.

"If the topic is in an opt-in Region, specify sns.<region>.amazonaws.com" as the principal of the
queue policy's sqs:SendMessage statement (sns/latest/dg/sns-cross-region-delivery.html). After
`install()`, a notification from a topic in an opt-in region (regions_overlay: "opted-in") reaches a
queue only when the queue's policy allows sqs:SendMessage to that regional principal; otherwise it is
dropped, as AWS drops it (the topic counts a failed notification; nothing tells the publisher), and
counted in `DROPPED`. Topics in other regions deliver as moto delivers them: what AWS requires of
their queue policy is not emulated here.
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from typing import Any

from . import regions_overlay
from .handler_permissions import as_list

DROPPED: Counter[str] = Counter()  # topic ARN -> notifications dropped
_installed = False


def admits(policy_json: str | None, principal: str, topic_arn: str) -> bool:
    """Whether a queue policy allows sqs:SendMessage to the service `principal` for `topic_arn`."""
    for statement in json.loads(policy_json or "{}").get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatch("sqs:sendmessage", a.lower()) for a in as_list(statement.get("Action"))):
            continue
        principals = statement.get("Principal", {})
        services = as_list(principals.get("Service")) if isinstance(principals, dict) else []
        if principal not in services:
            continue
        condition = statement.get("Condition", {})
        sources = {**condition.get("ArnLike", {}), **condition.get("ArnEquals", {})}.get("aws:SourceArn")
        if sources is None:
            return True
        if any(fnmatch.fnmatchcase(topic_arn, pattern) for pattern in as_list(sources)):
            return True
    return False


def sender_principal(topic_arn: str) -> str | None:
    """The regional principal a topic in an opt-in region sends as, or None for other regions."""
    region = topic_arn.split(":")[3]
    return f"sns.{region}.amazonaws.com" if regions_overlay.opt_in_status(region) == "opted-in" else None


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.sns.models import Subscription
    from moto.sqs.models import sqs_backends

    original = Subscription.publish

    def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        principal = sender_principal(self.topic.arn) if self.protocol == "sqs" else None
        if principal is not None:
            _, _, _, region, account, name = self.endpoint.split(":")
            queue = sqs_backends[account][region].queues.get(name)
            if queue is None or not admits(queue.policy, principal, self.topic.arn):
                DROPPED[self.topic.arn] += 1
                return
        original(self, message, message_id, *args, **kwargs)

    Subscription.publish = publish
