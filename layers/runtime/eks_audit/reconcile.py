"""Reconcile one cluster: observe -> plan -> apply (a dry run stops after the plan)."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from .apply import apply_plan
from .aws import ClusterApi
from .errors import ErrorKind, classify, error_code, error_message
from .model import Outcome, Plan, Verdict
from .observe import observe
from .plan import make_plan
from .settings import Settings


def outcome_of_plan(plan: Plan, *, dry_run: bool) -> Outcome:
    return Outcome(
        cluster=plan.cluster,
        region=plan.region,
        verdict=plan.verdict,
        reason=plan.reason,
        actions=plan.actions,
        requeue_after=plan.requeue_after,
        foreign_filters=plan.foreign_filters,
        dry_run=dry_run,
    )


def reconcile(
    api: ClusterApi,
    settings: Settings,
    cluster: str,
    region: str,
    *,
    update_id: str | None = None,
    dry_run: bool = False,
    filter_in_place: bool = False,
) -> Outcome:
    """Never raises for an AWS error: the outcome says what happened (ERROR or PENDING)."""
    if not settings.name_in_scope(cluster):  # decided without a single call
        return Outcome(
            cluster, region, Verdict.SKIPPED, "name excluded by the include/exclude patterns", dry_run=dry_run
        )
    try:
        observed = observe(api, cluster, region, update_id, filter_in_place=filter_in_place)
    except ClientError as exc:
        if classify(exc) is ErrorKind.TRANSIENT:
            return Outcome(
                cluster,
                region,
                Verdict.PENDING,
                f"observe: {error_code(exc)}, retry later",
                requeue_after=settings.wait_updating_seconds,
                dry_run=dry_run,
            )
        return Outcome(
            cluster,
            region,
            Verdict.ERROR,
            f"observe: {error_code(exc)}: {error_message(exc)}",
            dry_run=dry_run,
        )
    plan = make_plan(observed, settings, now=datetime.now(UTC))
    if dry_run or not plan.actions:
        return outcome_of_plan(plan, dry_run=dry_run)
    return apply_plan(plan, api, settings)
