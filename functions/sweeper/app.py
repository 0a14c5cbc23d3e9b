"""Sweeper: on the schedule, and when invoked by hand (backfill), every cluster of this region is
enqueued for reconcile. `{"dry_run": true}` returns each cluster's plan and changes nothing;
`{"clusters": [...]}` limits the sweep to those clusters.
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
from eks_audit.sweep import enqueue, list_cluster_names, parse_sweep_event

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    request = parse_sweep_event(event)  # a bad payload fails the invocation with the field named
    settings = load_settings()
    region = os.environ["AWS_REGION"]
    eks = clients.client("eks", region)
    names = list(request.clusters) or list(list_cluster_names(eks))
    logger.info(f"sweeping {len(names)} clusters", extra={"dry_run": request.dry_run})

    if request.dry_run:
        api = ClusterApi(eks, clients.client("logs", region), limiter=ratelimit.shared(region))
        outcomes = in_parallel(lambda name: reconcile(api, settings, name, region, dry_run=True), names)
        summary = Counter(str(outcome.verdict) for outcome in outcomes)
        return {
            "dry_run": True,
            "region": region,
            "summary": dict(summary),
            "clusters": [outcome.to_dict() for outcome in outcomes],
        }

    report = enqueue(
        clients.client("sqs", region),
        settings.reconcile_queue_url,
        (ReconcileRequest(name, region, trigger="sweep") for name in names),
    )
    metrics.add_metric(name="Enqueued", unit=MetricUnit.Count, value=report.sent)
    if report.failed:
        metrics.add_metric(name="EnqueueFailures", unit=MetricUnit.Count, value=len(report.failed))
        logger.error("some clusters could not be enqueued", extra={"failed": report.failed})
    return {"dry_run": False, "region": region, "enqueued": report.sent, "failed": report.failed}
