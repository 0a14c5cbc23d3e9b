"""The functions attached in-process: a poller plays Lambda's SQS event source mapping for the
reconciler (batches, partial batch failures, visibility timeout, redrive by the queue), a timer
plays the sweep schedule. The handlers are the real ones from functions/, run unchanged.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import lambda_metrics

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
# metrics are disabled in the local cloud (EMF would print to stdout); Powertools warns each flush
warnings.filterwarnings("ignore", message="No application metrics to publish")
log = logging.getLogger("eks_audit_local.controller")
INVOCATION_SECONDS = 60  # the functions' Timeout in template.yaml


def load_function(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"eks_audit_function_{name}", FUNCTIONS / name / "app.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(FUNCTIONS / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LogSink(io.TextIOBase):
    """Where the handlers' Powertools logs go: each JSON line is handed to `on_record`."""

    def __init__(self, on_record: Callable[[dict[str, Any]], None]):
        self.on_record = on_record
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.on_record(json.loads(line))
        return len(text)


def redirect_logs(module: ModuleType, sink: LogSink) -> None:
    handler_logger = getattr(module, "logger", None)
    if handler_logger is None:
        return
    for handler in logging.getLogger(handler_logger.name).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", ""),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class Controller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        *,
        on_record: Callable[[dict[str, Any]], None],
        visibility_seconds: int = 2,
        sweep_interval: float = 60.0,
        pollers: int = 2,
        relay: tuple[str, str] | None = None,
    ):
        """`relay`: (url, ARN) of the relay queue, whose messages the forwarder publishes to the
        home topic (a deployment with spokes)."""
        self.sqs = sqs
        self.relay = relay
        self.forwarder = load_function("forwarder") if relay else None
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.visibility_seconds = visibility_seconds
        self.sweep_interval = sweep_interval
        self.pollers = pollers
        self.sink = LogSink(on_record)
        self.reconciler = load_function("reconciler")
        self.sweeper = load_function("sweeper")
        for module in (self.reconciler, self.sweeper, self.forwarder):
            if module is not None:
                redirect_logs(module, self.sink)
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.stats = {
            "batches": 0,
            "messages": 0,
            "failures": 0,
            "sweeps": 0,
            "in_flight": 0,
            "max_in_flight": 0,
            "invocation_seconds": 0.0,  # the reconciler's, summed: what Lambda bills as duration
            "events": 0,  # of its messages, those EventBridge put there (the rest are requests)
        }
        self._lock = threading.Lock()

    def start(self) -> None:
        for index in range(self.pollers):
            self._spawn(self._poll, f"reconciler-poller-{index}")
        if self.sweep_interval > 0:
            self._spawn(self._schedule, "sweep-schedule")
        if self.relay is not None:
            self._spawn(self._relay, "forwarder-poller")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:  # a poller inside a retry backoff finishes on its own (daemon)
            thread.join(timeout=3)

    def invoke_sweeper(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """What `sam remote invoke` of the sweeper does, in-process; Lambda's per-function metrics
        follow (lambda_metrics)."""
        name = "eks-audit-SweeperFunction"
        context = LambdaContext(name, aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + 300)
        with self._lock:
            self.stats["sweeps"] += 1
        try:
            answer = self.sweeper.handler(payload or {}, context)
        except Exception:
            lambda_metrics.record(self.region, name, failed=True)
            raise
        lambda_metrics.record(self.region, name, failed=False)
        return answer

    def _schedule(self) -> None:
        scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        while not self.stopping.wait(self.sweep_interval):
            try:
                self.invoke_sweeper(scheduled)
            except Exception:  # a failed sweep is retried by the next one, as with the real schedule
                log.exception("sweep failed")

    def _poll(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                if not self.stopping.is_set():
                    log.exception("poller error")
                    time.sleep(0.5)

    def _relay(self) -> None:
        assert self.relay is not None and self.forwarder is not None
        url, arn = self.relay
        while not self.stopping.is_set():
            try:
                self._deliver(url, arn, self.forwarder, "eks-audit-ForwarderFunction", wait_seconds=1)
            except Exception:
                if not self.stopping.is_set():
                    log.exception("forwarder poller error")
                    time.sleep(0.5)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive -> invoke -> delete cycle of the reconciler; returns how many messages were handled."""
        with self._lock:  # concurrent invocations, against the event source's MaximumConcurrency
            self.stats["in_flight"] += 1
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self.stats["in_flight"])
        try:
            handled, failed = self._deliver(
                self.queue_url, self.queue_arn, self.reconciler, "eks-audit-ReconcilerFunction", wait_seconds
            )
        finally:
            with self._lock:
                self.stats["in_flight"] -= 1
        if handled:
            with self._lock:
                self.stats["batches"] += 1
                self.stats["messages"] += handled
                self.stats["failures"] += failed
        return handled

    def _deliver(
        self, queue_url: str, queue_arn: str, module: ModuleType, function: str, wait_seconds: int
    ) -> tuple[int, int]:
        """What Lambda's SQS event source mapping does once: receive a batch, invoke, delete what
        succeeded (partial batch failures stay for a retry). Returns (received, failed)."""
        # A batch stays invisible while its invocation runs (the queue's visibility timeout is six
        # times the function's, as Lambda advises: lambda/latest/dg/services-sqs-configure.html);
        # what fails comes back after the compressed `visibility_seconds`.
        messages = self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=INVOCATION_SECONDS * 6,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0, 0
        if self.stopping.is_set():  # stopped: they become visible again, unhandled
            self._visible_again(queue_url, messages)
            return 0, 0
        if module is self.reconciler:
            with self._lock:
                self.stats["events"] += sum('"detail-type"' in m.get("Body", "") for m in messages)
        event = {"Records": [to_lambda_record(m, queue_arn, self.region) for m in messages]}
        context = LambdaContext(
            function, aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + INVOCATION_SECONDS
        )
        started = time.monotonic()
        try:
            response = module.handler(event, context)
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception:
            log.exception(f"{function} invocation failed: the batch becomes visible again")
            self._visible_again(queue_url, messages)
            return len(messages), len(messages)
        finally:
            if module is self.reconciler:  # what Lambda bills as duration
                with self._lock:
                    self.stats["invocation_seconds"] += time.monotonic() - started
        self._visible_again(queue_url, [m for m in messages if m["MessageId"] in failed])
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages), len(failed)

    def _visible_again(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        if messages:
            self.sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.visibility_seconds,
                    }
                    for i, m in enumerate(messages)
                ],
            )
