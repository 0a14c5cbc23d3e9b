"""Forwarder: each message of the relay queue is a spoke region's S3 notification (raw message
delivery from the spoke's topic); publish it, unchanged, to the home topic, the consumer's one topic.

Thin: parse and publish (eks_audit.notifications), report (logs, EMF metrics, partial batch
failures: a message that is not a notification is retried, then kept in the dead-letter queue).
"""

from __future__ import annotations

import os
from functools import cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from eks_audit import clients
from eks_audit.notifications import NotANotification, forward

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def sns():
    return clients.client("sns", os.environ["AWS_REGION"])


def record_handler(record: SQSRecord) -> None:
    try:
        message_id = forward(sns(), os.environ["TOPIC_ARN"], record.body)
    except NotANotification as exc:
        metrics.add_metric(name="Malformed", unit=MetricUnit.Count, value=1)
        logger.error(f"not an S3 notification: {exc}", extra={"message_id": record.message_id})
        raise
    metrics.add_metric(name="Relayed", unit=MetricUnit.Count, value=1)
    logger.info("relayed to the home topic", extra={"message_id": record.message_id, "published": message_id})


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
