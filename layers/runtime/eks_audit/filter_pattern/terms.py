"""Term patterns for unstructured log events: `ERROR ARGUMENTS`, `"exact phrase"`, `?ERROR ?WARN`,
`ERROR -ARGUMENTS`.

As AWS's page says: terms are case-sensitive substrings; all plain terms must appear and no `-` term
may; `?` terms alone match when any of them appears, and "if you combine ? with other filter
patterns, all question mark terms will be ignored"; `" "` matches every event.
"""

from __future__ import annotations

from collections.abc import Callable

from .common import CompiledPattern, PatternError, read_quoted


def compile_terms(text: str) -> CompiledPattern:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        bucket = required
        if text[pos] in "?-":
            bucket = optional if text[pos] == "?" else excluded
            pos += 1
            while pos < end and text[pos].isspace():  # `"ERROR" - "Exiting"` is written too
                pos += 1
            if pos >= end:
                raise PatternError(f"expected a term after {text[pos - 1]!r}", text, pos)
        if text[pos] == '"':
            term, pos = read_quoted(text, pos)
        else:
            stop = pos
            while stop < end and not text[stop].isspace():
                if text[stop] == '"':
                    raise PatternError("quote inside an unquoted term", text, stop)
                stop += 1
            term, pos = text[pos:stop], stop
        if term.strip():  # `" "` constrains nothing: it matches every event
            bucket.append(term)

    if required or excluded:
        optional = []  # ignored when combined with other terms, as AWS documents
    if not (required or excluded or optional):
        return CompiledPattern(text, "all", lambda message: True)
    return CompiledPattern(text, "terms", _matcher(tuple(required), tuple(optional), tuple(excluded)))


def _matcher(required: tuple[str, ...], optional: tuple[str, ...], excluded: tuple[str, ...]) -> Callable:
    def matches(message: str) -> bool:
        for term in required:
            if term not in message:
                return False
        for term in excluded:
            if term in message:
                return False
        if optional:
            return any(term in message for term in optional)
        return True

    return matches
