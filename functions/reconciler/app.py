"""Reconciler: one SQS message names one cluster; make it compliant, or look again later.

Thin: parse (intake), call the library (worker), report (logs with the cluster on every line,
EMF metrics, partial batch failures).
"""

from __future__ import annotations

import os
from functools import cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from eks_audit import clients, ratelimit
from eks_audit.aws import ClusterApi
from eks_audit.intake import Ignore, MalformedMessage, parse_message
from eks_audit.model import Verdict
from eks_audit.settings import SettingsError, load_settings
from eks_audit.worker import ReconcileFailed, ResultKind, Worker

logger = Logger()
metrics = Metrics()
# a batch whose every record failed is reported like any other, not raised: the invocation's logs
# and metrics still flush, and each message is retried (then dead-lettered) on its own
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def worker() -> Worker:
    """Built on first use and kept for the life of the execution environment."""
    region = os.environ["AWS_REGION"]
    return Worker(
        settings=load_settings(),
        api_for_region=lambda r: ClusterApi(
            clients.client("eks", r),
            clients.client("logs", r),
            limiter=ratelimit.shared(r, on_created=ratelimit.reporter(logger)),
        ),
        sqs=clients.client("sqs", region),
    )


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord) -> None:
    receive_count = record.attributes.approximate_receive_count
    try:
        decision = parse_message(
            record.body,
            default_region=os.environ.get("AWS_REGION"),
            own_role_arn=os.environ.get("CONTROLLER_ROLE_ARN"),
        )
    except MalformedMessage as exc:
        count("Malformed")
        logger.error(
            f"malformed message: {exc}",
            extra={"message_id": record.message_id, "field": exc.field, "receive_count": receive_count},
        )
        raise  # retried until the queue's maxReceiveCount, then kept in the dead-letter queue
    if isinstance(decision, Ignore):
        count("Ignored")
        logger.info(f"ignored: {decision.reason}", extra={"message_id": record.message_id})
        return

    try:
        reconciler = worker()
    except SettingsError as exc:
        count("Errors")
        logger.error(f"misconfigured function: {exc}")
        raise
    # thread-safe keys: correct in Lambda, and where several pollers share the module (local cloud)
    logger.thread_safe_append_keys(cluster=decision.cluster, region=decision.region, trigger=decision.trigger)
    try:
        result = reconciler.handle(decision)
        report(result)
    except ReconcileFailed as exc:
        count("Errors")
        logger.error(f"reconcile failed: {exc.outcome.reason}", extra={"receive_count": receive_count})
        raise
    finally:
        logger.thread_safe_remove_keys(["cluster", "region", "trigger"])


def report(result) -> None:
    if result.kind is ResultKind.IGNORED:
        count("Ignored")
        logger.info(f"ignored: {result.reason}")
        return
    if result.requeued_after is not None:
        count("Requeues")
    if result.kind is ResultKind.DEFERRED:
        logger.info(f"still waiting: look again in {result.requeued_after}s")
        return
    outcome = result.outcome
    if result.changed:
        count("Onboarded" if result.onboarded else "Repaired")
    if outcome.verdict is Verdict.CONFLICT:
        count("Conflicts")
    if outcome.verdict is Verdict.ERROR:
        count("Errors")
    if outcome.permanent:
        # not retried (AWS's answer will not change by itself): the metric and this line say so
        count("RefusedByAws")
        logger.error(f"refused by AWS: {outcome.reason}", extra={"verdict": str(outcome.verdict)})
        return
    logger.info(
        f"{outcome.verdict}: {outcome.reason}",
        extra={
            "verdict": str(outcome.verdict),
            "actions": [str(a) for a in outcome.actions],
            "requeue_after": result.requeued_after,
            "foreign_filters": list(outcome.foreign_filters),
            "update_id": outcome.update_id,
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
