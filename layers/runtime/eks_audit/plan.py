"""The decision: a pure function of the observed state and the settings (no AWS calls)."""

from __future__ import annotations

import math
from datetime import datetime

from .constants import SKIP_TAG
from .model import Action, Observed, Plan, SubscriptionFilter, Verdict
from .settings import Settings

WAITING_STATUSES = frozenset({"CREATING", "PENDING"})
MAX_REQUEUE_SECONDS = 900  # SQS's largest DelaySeconds


def wait_while_creating(observed: Observed, settings: Settings, now: datetime | None) -> int:
    """When to look again at a CREATING cluster: once it is `expected_creating_seconds` old, then
    every `wait_creating_seconds`. A message per poll is what a new cluster costs (docs/scale.md),
    and none can enable audit logging before ACTIVE."""
    created = observed.created_at
    if now is None or not isinstance(created, datetime) or created.tzinfo is None:
        return settings.wait_creating_seconds
    remaining = settings.expected_creating_seconds - (now - created).total_seconds()
    return max(settings.wait_creating_seconds, min(MAX_REQUEUE_SECONDS, math.ceil(remaining)))


def filter_drift(ours: SubscriptionFilter, settings: Settings) -> list[str]:
    """What differs between our filter as found and as configured (empty: nothing)."""
    drift = []
    if ours.pattern != settings.filter_pattern:
        drift.append("pattern")
    if ours.destination_arn != settings.firehose_arn:
        drift.append("destination")
    if (ours.role_arn or None) != settings.logs_role_arn:
        drift.append("role")
    return drift


def make_plan(observed: Observed, settings: Settings, now: datetime | None = None) -> Plan:
    """Decide what `observed` needs. Action order matters: log group, filter, then audit logging,
    so that no audit line is produced before the filter that ships it. `now` (aware) times the next
    look at a CREATING cluster by its age; without it, the plain interval."""

    def plan(verdict: Verdict, reason: str, **kwargs) -> Plan:
        return Plan(observed.cluster, observed.region, verdict, reason, **kwargs)

    if not observed.exists:
        return plan(Verdict.GONE, "cluster not found")
    if not settings.name_in_scope(observed.cluster):
        return plan(Verdict.SKIPPED, "name excluded by the include/exclude patterns")
    if str(observed.tags.get(SKIP_TAG, "")).strip().lower() == "true":
        # opting out changes nothing by itself (docs/architecture.md): say when it still ships
        if any(f.name == settings.filter_name for f in observed.filters) and observed.audit_enabled:
            return plan(
                Verdict.SKIPPED,
                f"opted out with tag {SKIP_TAG}=true, still shipping: our filter {settings.filter_name!r} "
                "and audit logging are in place (delete the filter to stop)",
            )
        return plan(Verdict.SKIPPED, f"opted out with tag {SKIP_TAG}=true")
    if observed.status == "DELETING":
        return plan(Verdict.GONE, "cluster is being deleted")
    if observed.status == "FAILED":
        return plan(Verdict.SKIPPED, "cluster creation FAILED: nothing to instrument")

    actions: list[Action] = []
    reasons: list[str] = []
    foreign = tuple(f.name for f in observed.filters if f.name != settings.filter_name)
    ours = next((f for f in observed.filters if f.name == settings.filter_name), None)
    conflict = False

    if not observed.filters_observed:
        pass  # following our own logging update: the filters were in place when it was issued
    elif not observed.log_group_exists:
        actions += [Action.CREATE_LOG_GROUP, Action.PUT_FILTER]
        reasons.append("log group missing")
    elif ours is None:
        if len(foreign) >= settings.subscription_filter_limit:
            conflict = True
            reasons.append(
                f"log group holds {len(foreign)} foreign subscription filters "
                f"(limit {settings.subscription_filter_limit}): {', '.join(foreign)}"
            )
        else:
            actions.append(Action.PUT_FILTER)
            reasons.append("subscription filter missing")
    elif drift := filter_drift(ours, settings):
        actions.append(Action.PUT_FILTER)
        reasons.append(f"subscription filter differs ({', '.join(drift)})")

    requeue_after = None
    failed_update = None
    update = observed.update
    updating = observed.status == "UPDATING" or (update is not None and update.status == "InProgress")
    if observed.audit_enabled:
        if updating:
            # an update in flight may be the one that switches audit logging off: look again after it
            requeue_after = settings.wait_updating_seconds
            reasons.append("cluster UPDATING: looking again once the update finishes")
    elif update is not None and update.status == "InProgress":
        requeue_after = settings.wait_updating_seconds
        reasons.append(f"logging update {update.id} in progress")
    elif observed.status in WAITING_STATUSES:
        requeue_after = wait_while_creating(observed, settings, now)
        reasons.append(f"cluster {observed.status}: audit logging enabled once ACTIVE")
    elif observed.status == "UPDATING":
        requeue_after = settings.wait_updating_seconds
        reasons.append("cluster UPDATING: audit logging enabled once ACTIVE")
    elif update is not None and update.status in ("Failed", "Cancelled"):
        failed_update = update
        reasons.append(
            f"logging update {update.id} {update.status}"
            + (f": {'; '.join(update.errors)}" if update.errors else "")
        )
    else:
        actions.append(Action.ENABLE_AUDIT)
        reasons.append("audit logging disabled")

    if conflict:
        verdict = Verdict.CONFLICT
    elif failed_update is not None:
        verdict = Verdict.ERROR
    elif actions:
        verdict = Verdict.DRIFTED
    elif requeue_after is not None:
        verdict = Verdict.PENDING
    elif not observed.filters_observed:
        update_id = observed.update.id if observed.update else "?"
        return plan(
            Verdict.COMPLIANT,
            f"audit logging enabled (update {update_id} Successful); the subscription filter was in place when it was issued",
        )
    else:
        return plan(Verdict.COMPLIANT, "audit logging enabled and subscription filter in place")
    return plan(
        verdict,
        "; ".join(reasons),
        actions=tuple(actions),
        requeue_after=requeue_after,
        foreign_filters=foreign,
    )
