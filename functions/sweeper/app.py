"""Sweeper: on the schedule, and when invoked by hand (backfill), every cluster of every region the
deployment covers is enqueued for reconcile. `{"dry_run": true}` returns each cluster's plan and
changes nothing; `{"clusters": [...]}` and `{"regions": [...]}` limit the sweep.
"""

from __future__ import annotations

import os
from collections import Counter

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from eks_audit import clients, ratelimit
from eks_audit.aws import ClusterApi
from eks_audit.concurrency import in_parallel
from eks_audit.intake import ReconcileRequest
from eks_audit.reconcile import reconcile
from eks_audit.settings import load_settings
from eks_audit.sweep import SweepRequestError, enqueue, list_cluster_names, parse_sweep_event

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    request = parse_sweep_event(event)  # a bad payload fails the invocation with the field named
    settings = load_settings()
    regions = request.regions or settings.covered_regions
    uncovered = [region for region in regions if settings.for_region(region) is None]
    if uncovered:
        raise SweepRequestError("regions", f"not covered by this deployment: {', '.join(uncovered)}")
    clusters = dict(
        zip(regions, in_parallel(lambda region: request.clusters or _names(region), regions), strict=True)
    )
    logger.info(
        f"sweeping {sum(map(len, clusters.values()))} clusters in {len(regions)} regions",
        extra={"dry_run": request.dry_run, "regions": list(regions)},
    )
    if request.dry_run:
        return dry_run(settings, clusters)

    report = enqueue(
        clients.client("sqs", os.environ["AWS_REGION"]),
        settings.reconcile_queue_url,
        (
            ReconcileRequest(name, region, trigger="sweep")
            for region, names in clusters.items()
            for name in names
        ),
    )
    metrics.add_metric(name="Enqueued", unit=MetricUnit.Count, value=report.sent)
    if report.failed:
        metrics.add_metric(name="EnqueueFailures", unit=MetricUnit.Count, value=len(report.failed))
        logger.error("some clusters could not be enqueued", extra={"failed": report.failed})
    return {"dry_run": False, "regions": list(regions), "enqueued": report.sent, "failed": report.failed}


def _names(region: str) -> list[str]:
    return list(list_cluster_names(clients.client("eks", region)))


def _read_only_api(region: str) -> ClusterApi:
    limiter = ratelimit.shared(region, read_only=True, on_created=ratelimit.reporter(logger))
    return ClusterApi(clients.client("eks", region), clients.client("logs", region), limiter=limiter)


def dry_run(settings, clusters: dict[str, tuple[str, ...] | list[str]]) -> dict:
    """Each cluster's plan, region by region, and no change."""
    work = [(region, name) for region, names in clusters.items() for name in names]
    # read-only: the dry run may take the whole quota (ratelimit.py); one API per region, its
    # quotas read in parallel with the other regions'
    regions = [region for region, names in clusters.items() if names]
    apis = dict(zip(regions, in_parallel(_read_only_api, regions), strict=True))

    def plan(item: tuple[str, str]):
        region, name = item
        return reconcile(apis[region], settings.for_region(region), name, region, dry_run=True)

    outcomes = in_parallel(plan, work)
    return {
        "dry_run": True,
        "regions": list(clusters),
        "summary": dict(Counter(str(outcome.verdict) for outcome in outcomes)),
        "clusters": [outcome.to_dict() for outcome in outcomes],
    }
