"""AWS's own filter pattern engine as the cross-check of ours: TestMetricFilter evaluates a pattern
over 1 to 50 messages per call and answers which matched (AWS-FACTS.md; the syntax is the one
subscription filters use)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eks_audit.errors import error_code, error_message

MESSAGES_PER_CALL = 50  # API_TestMetricFilter.html: logEventMessages, 1 to 50 items


class PatternRefused(ValueError):
    """CloudWatch Logs answered InvalidParameterException: it does not accept the pattern."""


def aws_matches(logs: Any, pattern: str, messages: Iterable[str]) -> set[str]:
    """The messages AWS's engine matches. Matched by text, since AWS does not document whether
    eventNumber counts from 0 or 1; the messages are de-duplicated first, so text is unambiguous."""
    unique = list(dict.fromkeys(message for message in messages if message))
    matched: set[str] = set()
    for start in range(0, len(unique), MESSAGES_PER_CALL):
        batch = unique[start : start + MESSAGES_PER_CALL]
        try:
            answer = logs.test_metric_filter(filterPattern=pattern, logEventMessages=batch)
        except ClientError as exc:
            if error_code(exc) == "InvalidParameterException":
                raise PatternRefused(error_message(exc)) from None
            raise
        matched.update(match.get("eventMessage", "") for match in answer.get("matches", []))
    return matched


def pattern_refusal(logs: Any, pattern: str) -> str | None:
    """AWS's words when it refuses `pattern`, else None (one call; any other error says nothing)."""
    try:
        aws_matches(logs, pattern, ["{}"])
    except PatternRefused as exc:
        return str(exc) or "InvalidParameterException"
    except ClientError:
        return None
    return None


class Sample:
    """A uniform sample of at most `size` messages from a stream of unknown length (reservoir
    sampling, seeded: the same input gives the same sample)."""

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.seen = 0
        self.items: list[str] = []
        self._random = random.Random(seed)

    def offer(self, message: str) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(message)
        elif (slot := self._random.randrange(self.seen)) < self.size:
            self.items[slot] = message


@dataclass(frozen=True)
class Disagreement:
    message: str
    local: bool  # kept by our evaluator
    aws: bool  # matched by AWS's


def disagreements(local: dict[str, bool], matched_by_aws: set[str]) -> Iterator[Disagreement]:
    """Each sampled message (the keys of `local`, with our answer) that AWS's engine answered otherwise."""
    for message, kept in local.items():
        by_aws = message in matched_by_aws
        if kept is not by_aws:
            yield Disagreement(message, kept, by_aws)
