"""What the reconciler does with one queue message, once intake has named the cluster.

Kubernetes-controller style: reconcile from observed state, and when the cluster must be looked at
again (creating, update in flight), send the request back to the queue with a delay. SQS caps a
delay at 15 minutes, so a longer wait travels as `wait_seconds` and is chained.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .aws import ClusterApi
from .constants import SQS_MAX_DELAY_SECONDS
from .intake import ReconcileRequest
from .model import Action, Outcome, Verdict
from .reconcile import reconcile
from .settings import Settings


class ResultKind(StrEnum):
    RECONCILED = "reconciled"
    DEFERRED = "deferred"  # a chained wait: sent back without reconciling
    IGNORED = "ignored"


@dataclass(frozen=True)
class WorkResult:
    kind: ResultKind
    outcome: Outcome | None = None
    requeued_after: int | None = None
    reason: str = ""
    trigger: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.outcome and self.outcome.actions)

    @property
    def onboarded(self) -> bool:
        """Changes to a cluster met for the first time (a new cluster, or no log group yet);
        other changes are repairs of drift."""
        return self.changed and (
            Action.CREATE_LOG_GROUP in self.outcome.actions or self.trigger == "CreateCluster"
        )


class ReconcileFailed(RuntimeError):
    """The outcome is an error: the message fails, is retried, and reaches the dead-letter queue."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(f"{outcome.cluster} ({outcome.region}): {outcome.reason}")


def split_delay(seconds: int) -> tuple[int, int]:
    """(delay for this message, wait left for the next link of the chain)."""
    first = min(max(seconds, 0), SQS_MAX_DELAY_SECONDS)
    return first, max(seconds, 0) - first


@dataclass
class Worker:
    settings: Settings
    api_for_region: Callable[[str], ClusterApi]
    sqs: Any
    jitter: Callable[[int], int] = lambda seconds: random.randint(0, seconds // 10)  # spreads retries

    def handle(self, request: ReconcileRequest) -> WorkResult:
        settings = self.settings.for_region(request.region)
        if settings is None:
            return WorkResult(
                ResultKind.IGNORED,
                reason=f"region {request.region} is not covered by this deployment "
                f"(covered: {', '.join(self.settings.covered_regions)}; add it to SpokeRegions)",
            )
        if request.wait_seconds > 0:  # the rest of a wait longer than SQS allows
            sent = self.requeue(request, request.wait_seconds, jitter=False)
            return WorkResult(
                ResultKind.DEFERRED, requeued_after=sent, reason="waiting", trigger=request.trigger
            )
        outcome = reconcile(
            self.api_for_region(request.region),
            settings,
            request.cluster,
            request.region,
            update_id=request.update_id,
            filter_in_place=request.filter_in_place,
        )
        if outcome.verdict is Verdict.ERROR and outcome.requeue_after is None and not outcome.permanent:
            raise ReconcileFailed(outcome)  # retried by SQS, then dead-lettered
        requeued = None
        if outcome.requeue_after is not None:
            # an update issued (this step or before) with no conflict had our filter in place
            follow_up = replace(
                request,
                update_id=outcome.update_id or request.update_id,
                filter_in_place=outcome.verdict is not Verdict.CONFLICT
                and (request.filter_in_place or Action.ENABLE_AUDIT in outcome.actions),
            )
            requeued = self.requeue(follow_up, outcome.requeue_after)
        return WorkResult(ResultKind.RECONCILED, outcome, requeued, outcome.reason, trigger=request.trigger)

    def requeue(self, request: ReconcileRequest, seconds: int, *, jitter: bool = True) -> int:
        """Send `request` back to the queue to be looked at in `seconds` (spread by a little jitter)."""
        if not self.settings.reconcile_queue_url:
            raise RuntimeError("RECONCILE_QUEUE_URL is not set: cannot requeue")
        total = seconds + (self.jitter(seconds) if jitter else 0)
        delay, rest = split_delay(total)
        message = replace(request, wait_seconds=rest).to_message()
        self.sqs.send_message(
            QueueUrl=self.settings.reconcile_queue_url,
            MessageBody=json.dumps(message),
            DelaySeconds=delay,
        )
        return total
