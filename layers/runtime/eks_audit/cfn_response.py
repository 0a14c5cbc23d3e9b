"""Answering a CloudFormation custom resource: SUCCESS or FAILED, always, and always in time.

The answer is a PUT of a JSON document to the presigned ResponseURL; its body must not exceed 4,096
bytes (AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html). Without an answer CloudFormation
waits the resource's ServiceTimeout (an hour by default). So:
- the work runs under a deadline taken from the Lambda context, leaving time to answer;
- the Reason is cut so that the encoded body fits, counting bytes, not characters.

Written by hand rather than with crhelper (2.0.12): crhelper sizes Content-Length in characters
(wrong for non-ASCII reasons), speaks HTTPS only, retries a failed answer forever, and its polling
needs events:PutRule and lambda:AddPermission, which these resources do not.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

MAX_BODY_BYTES = 4096
ANSWER_RESERVE_SECONDS = 5.0  # kept back from the function's timeout for the answer itself
ANSWER_TIMEOUT_SECONDS = 4.0

# the work gets its deadline (time.monotonic()) and returns the resource's data
Work = Callable[[float], dict[str, str]]


class DeadlineExceeded(TimeoutError):
    pass


def run_before_deadline(work: Work, seconds: float) -> dict[str, str]:
    """`work(deadline)`'s data, or DeadlineExceeded once `seconds` have passed (the work's thread is
    left behind: the answer matters more, and Lambda freezes the environment once the handler returns)."""
    deadline = time.monotonic() + seconds
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(contextvars.copy_context().run, work, deadline)  # the caller's context goes along
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=max(seconds, 0.0))
    except concurrent.futures.TimeoutError:
        raise DeadlineExceeded(f"no answer from AWS within {seconds:.0f} s") from None


def body(event: dict[str, Any], status: str, reason: str, data: dict[str, str], physical_id: str) -> bytes:
    """The response document, its Reason shortened (by whole characters) until it fits the limit."""

    def encode(text: str) -> bytes:
        return json.dumps(
            {
                "Status": status,
                "Reason": text,
                "PhysicalResourceId": physical_id,
                "StackId": event["StackId"],
                "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"],
                "Data": data,
            }
        ).encode()

    encoded = encode(reason)
    if len(encoded) <= MAX_BODY_BYTES:
        return encoded
    marker = " [cut]"
    low, high = 0, len(reason)  # the longest prefix that fits: binary search on characters
    while low < high:
        middle = (low + high + 1) // 2
        if len(encode(reason[:middle] + marker)) <= MAX_BODY_BYTES:
            low = middle
        else:
            high = middle - 1
    encoded = encode(reason[:low] + marker)
    if len(encoded) > MAX_BODY_BYTES:  # the data alone is too large: say so instead
        return body(
            event, "FAILED", "the resource's data exceeds CloudFormation's 4,096 bytes", {}, physical_id
        )
    return encoded


def send(url: str, payload: bytes) -> None:
    request = urllib.request.Request(
        url, data=payload, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(payload))}
    )
    with urllib.request.urlopen(request, timeout=ANSWER_TIMEOUT_SECONDS):
        pass


def answer(
    event: dict[str, Any], context: Any, work: Work, *, physical_id: str, logger: Any
) -> tuple[str, dict[str, str]]:
    """Run `work` before the function's own timeout and answer CloudFormation with its data
    (SUCCESS) or with the failure in words (FAILED). Returns (status, data)."""
    status, data, reason = "SUCCESS", {}, ""
    seconds = context.get_remaining_time_in_millis() / 1000 - ANSWER_RESERVE_SECONDS
    try:
        data = run_before_deadline(work, seconds)
    except Exception as exc:  # CloudFormation must hear of every failure, or it waits ServiceTimeout
        logger.exception(f"{event.get('LogicalResourceId')}: {event.get('RequestType')} failed")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
    reason = reason or f"see CloudWatch Logs stream {context.log_stream_name}"
    send(event["ResponseURL"], body(event, status, reason, data, physical_id))
    return status, data
