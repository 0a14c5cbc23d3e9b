"""CloudWatch Logs filter patterns, evaluated as CloudWatch Logs does for subscription filters.

Written by hand: no maintained Python library implements this syntax. Semantics follow AWS's
"Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail"
page (its JSON section is also its own page, matching-terms-json-log-events.html); every example on
them is a test case (tests/unit/test_filter_pattern_aws_examples.py). Where the pages are silent, the
choice is written in docs/filter-patterns.md.

    compile_pattern(text) -> CompiledPattern     # raises PatternError (with the position)
    CompiledPattern.matches(message) -> bool     # one raw log message
    CompiledPattern.matches_parsed(obj) -> bool  # a JSON message already parsed (JSON patterns)

Kinds: "all" (empty or `" "`), "terms" (words, "phrases", ?any-of, -exclude), "regex" (`%...%`),
"json" (`{ ... }`), "delimited" (`[field, ...]`).

This evaluator is never the authority on what is valid: the controller sends whatever pattern it is
configured with to PutSubscriptionFilter and reports AWS's answer; `eks-audit filter-test
--check-with-aws` compares this evaluator with AWS's own (TestMetricFilter).
"""

from __future__ import annotations

from .common import CompiledPattern, PatternError
from .delimited import compile_delimited
from .json_pattern import compile_json
from .regex import compile_standalone_regex
from .terms import compile_terms

__all__ = ["CompiledPattern", "PatternError", "compile_pattern"]


def compile_pattern(text: str) -> CompiledPattern:
    stripped = text.strip()
    start = len(text) - len(text.lstrip())
    if not stripped:
        return CompiledPattern(text, "all", lambda message: True)
    if stripped[0] == "[":
        return compile_delimited(text, start)
    if stripped[0] == "{":
        return compile_json(text, start)
    if len(stripped) >= 2 and stripped[0] == "%" and stripped[-1] == "%":
        return compile_standalone_regex(text, start)
    return compile_terms(text)
