"""The sweep: every cluster of a region onto the reconcile queue (or, in a dry run, its plan)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .intake import ReconcileRequest
from .names import is_valid_cluster_name
from .settings import REGION_RE

SQS_BATCH = 10


class SweepRequestError(ValueError):
    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        super().__init__(f"{field_name}: {problem}")


@dataclass(frozen=True)
class SweepRequest:
    dry_run: bool = False
    clusters: tuple[str, ...] = ()  # empty: every cluster
    regions: tuple[str, ...] = ()  # empty: every region the deployment covers


def parse_sweep_event(event: Any) -> SweepRequest:
    """A scheduled event sweeps everything; a manual payload may say dry_run and name clusters."""
    if event is None or event == "":
        return SweepRequest()
    if not isinstance(event, dict):
        raise SweepRequestError("payload", "expected a JSON object")
    if event.get("detail-type") == "Scheduled Event":
        return SweepRequest()
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise SweepRequestError("dry_run", "expected true or false")
    clusters = event.get("clusters") or []
    if not isinstance(clusters, list):
        raise SweepRequestError("clusters", "expected a list of cluster names")
    for index, name in enumerate(clusters):
        if not is_valid_cluster_name(name):
            raise SweepRequestError(f"clusters[{index}]", f"not a valid EKS cluster name: {name!r}")
    regions = event.get("regions") or []
    if not isinstance(regions, list) or not all(
        isinstance(r, str) and REGION_RE.fullmatch(r) for r in regions
    ):
        raise SweepRequestError("regions", "expected a list of region names")
    return SweepRequest(dry_run, tuple(dict.fromkeys(clusters)), tuple(dict.fromkeys(regions)))


def list_cluster_names(eks: Any) -> Iterator[str]:
    for page in eks.get_paginator("list_clusters").paginate():
        yield from page.get("clusters", [])


@dataclass
class EnqueueReport:
    sent: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


def enqueue(sqs: Any, queue_url: str, requests: Iterable[ReconcileRequest]) -> EnqueueReport:
    """SendMessageBatch in tens; entries SQS refuses are retried once, then reported."""
    report = EnqueueReport()
    batch: list[ReconcileRequest] = []

    def flush() -> None:
        pending = {str(i): request for i, request in enumerate(batch)}
        for attempt in (1, 2):
            entries = [
                {"Id": key, "MessageBody": json.dumps(request.to_message())}
                for key, request in pending.items()
            ]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            report.sent += len(response.get("Successful", []))
            failed = {item["Id"]: item for item in response.get("Failed", [])}
            pending = {key: pending[key] for key in failed}
            if not pending:
                break
            if attempt == 2:
                for key, request in pending.items():
                    report.failed.append(
                        {
                            "cluster": request.cluster,
                            "reason": failed[key].get("Message", failed[key]["Code"]),
                        }
                    )
        batch.clear()

    for request in requests:
        batch.append(request)
        if len(batch) == SQS_BATCH:
            flush()
    if batch:
        flush()
    return report
