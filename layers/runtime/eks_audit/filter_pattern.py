"""CloudWatch Logs filter patterns, evaluated as CloudWatch Logs does for subscription filters.

Written by hand: no maintained Python library implements this syntax. Semantics follow AWS's
"Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail"
page; where that page is silent, the choice is written in docs/filter-patterns.md.

    compile_pattern(text) -> CompiledPattern     # raises PatternError (with the position)
    CompiledPattern.matches(message) -> bool     # one raw log message
    CompiledPattern.matches_parsed(obj) -> bool  # a JSON message already parsed (JSON patterns)

Supported: the empty pattern (everything); term patterns (terms, "quoted phrases", ?any-of,
-exclude); JSON patterns `{ ... }` with selectors `$.a.b[0].c`, = != < > <= >=, quoted and unquoted
values, leading/trailing `*` wildcards, numbers (scientific notation too), IS NULL, IS TRUE,
IS FALSE, NOT EXISTS, &&, ||, parentheses; regular expressions `%...%` (standalone or as a JSON
value). Space-delimited patterns `[a, b, ...]` raise UnsupportedPattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:  # orjson is several times faster; the standard library is the fallback
    from orjson import JSONDecodeError as _JSONError
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised where orjson is absent
    from json import JSONDecodeError as _JSONError
    from json import loads as _loads

_MISSING = object()
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT_RE = re.compile(r"[A-Za-z0-9_-]+")
_INDEX_RE = re.compile(r"\[(\d+)\]")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")

Predicate = Callable[[Any], bool]


class PatternError(ValueError):
    """An invalid pattern; `position` is the 0-based offset where the problem was found."""

    def __init__(self, problem: str, pattern: str, position: int):
        self.problem = problem
        self.pattern = pattern
        self.position = position
        super().__init__(
            f"invalid filter pattern: {problem} at position {position}\n  {pattern}\n  {' ' * position}^"
        )


class UnsupportedPattern(PatternError):
    """Valid for CloudWatch Logs, but not evaluated here."""

    def __init__(self, problem: str, pattern: str, position: int):
        super().__init__(problem, pattern, position)
        self.args = (f"unsupported filter pattern: {problem}",)


@dataclass(frozen=True)
class CompiledPattern:
    text: str
    kind: str  # "all" | "terms" | "regex" | "json"
    _text_predicate: Callable[[str], bool]
    _json_predicate: Predicate | None = None

    def matches(self, message: str) -> bool:
        return self._text_predicate(message)

    def matches_parsed(self, obj: Any) -> bool:
        """For JSON patterns: evaluate a message that is already parsed."""
        if self._json_predicate is None:
            raise TypeError("matches_parsed() needs a JSON pattern")
        return isinstance(obj, (dict, list)) and self._json_predicate(obj)


def compile_pattern(text: str) -> CompiledPattern:
    stripped = text.strip()
    start = len(text) - len(text.lstrip())
    if not stripped:
        return CompiledPattern(text, "all", lambda message: True)
    if stripped[0] == "[":
        raise UnsupportedPattern("space-delimited patterns ([field, ...]) are not supported", text, start)
    if stripped[0] == "{":
        predicate = _JsonParser(text, start).parse()
        return CompiledPattern(text, "json", _json_text_predicate(predicate), predicate)
    if len(stripped) >= 2 and stripped[0] == "%" and stripped[-1] == "%" and " " not in stripped:
        search = _compile_regex(stripped[1:-1], text, start + 1).search
        return CompiledPattern(text, "regex", lambda message: search(message) is not None)
    return CompiledPattern(text, "terms", _parse_terms(text))


def _json_text_predicate(predicate: Predicate) -> Callable[[str], bool]:
    def matches(message: str) -> bool:
        try:
            obj = _loads(message)
        except (_JSONError, ValueError, TypeError):
            return False  # a message that is not JSON never matches a JSON pattern
        return isinstance(obj, (dict, list)) and predicate(obj)

    return matches


def _compile_regex(body: str, pattern: str, position: int) -> re.Pattern[str]:
    if not body:
        raise PatternError("empty regular expression", pattern, position)
    for offset, char in enumerate(body):
        if char in "()":
            raise PatternError(
                "'(' and ')' are not supported in filter pattern regular expressions",
                pattern,
                position + offset,
            )
        if ord(char) > 127:
            raise PatternError(
                "multi-byte characters are not supported in regular expressions", pattern, position + offset
            )
    try:
        return re.compile(body)
    except re.error as exc:
        raise PatternError(
            f"bad regular expression ({exc.msg})", pattern, position + (exc.pos or 0)
        ) from None


# -- term patterns -------------------------------------------------------------------------------


def _parse_terms(text: str) -> Callable[[str], bool]:
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
            term, pos = _quoted(text, pos)
        else:
            stop = pos
            while stop < end and not text[stop].isspace():
                if text[stop] == '"':
                    raise PatternError("quote inside an unquoted term", text, stop)
                stop += 1
            term, pos = text[pos:stop], stop
        if term:
            bucket.append(term)

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


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """Read a double-quoted string starting at `pos` (backslash escapes quote and backslash)."""
    out = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise PatternError("unterminated quoted string", text, pos)


# -- JSON patterns -------------------------------------------------------------------------------


class _JsonParser:
    """Recursive descent: or := and ('||' and)* ; and := primary ('&&' primary)* ;
    primary := '(' or ')' | selector (op value | IS NULL|TRUE|FALSE | NOT EXISTS)."""

    def __init__(self, text: str, start: int):
        self.text = text
        self.pos = start + 1  # past '{'

    def error(self, problem: str, position: int | None = None) -> PatternError:
        return PatternError(problem, self.text, self.pos if position is None else position)

    def parse(self) -> Predicate:
        predicate = self.or_expression()
        self.skip_space()
        if not self.text.startswith("}", self.pos):
            raise self.error("expected '&&', '||' or '}'")
        self.pos += 1
        self.skip_space()
        if self.pos != len(self.text):
            raise self.error("unexpected text after '}'")
        return predicate

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, token: str) -> bool:
        self.skip_space()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def or_expression(self) -> Predicate:
        parts = [self.and_expression()]
        while self.take("||"):
            parts.append(self.and_expression())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: any(part(obj) for part in parts)

    def and_expression(self) -> Predicate:
        parts = [self.primary()]
        while self.take("&&"):
            parts.append(self.primary())
        if len(parts) == 1:
            return parts[0]

        def all_of(obj: Any) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop beats all() on this hot path
                if not part(obj):
                    return False
            return True

        return all_of

    def primary(self) -> Predicate:
        if self.take("("):
            inner = self.or_expression()
            if not self.take(")"):
                raise self.error("expected ')'")
            return inner
        self.skip_space()
        if not self.text.startswith("$", self.pos):
            raise self.error("expected a selector starting with '$' or '('")
        resolve = self.selector()
        self.skip_space()
        keyword = self.keyword()
        if keyword is not None:
            return keyword(resolve)
        for operator in _OPERATORS:
            if self.text.startswith(operator, self.pos):
                operator_at = self.pos
                self.pos += len(operator)
                return self.comparison(resolve, operator, operator_at)
        raise self.error("expected an operator (= != < > <= >=), IS or NOT EXISTS")

    def selector(self) -> Callable[[Any], Any]:
        start = self.pos
        self.pos += 1
        path: list[str | int] = []
        while self.pos < len(self.text):
            if self.text[self.pos] == ".":
                match = _IDENT_RE.match(self.text, self.pos + 1)
                if not match:
                    raise self.error("expected a property name after '.'", self.pos + 1)
                path.append(match.group())
                self.pos = match.end()
            elif self.text[self.pos] == "[":
                match = _INDEX_RE.match(self.text, self.pos)
                if not match:
                    raise self.error("expected an array index such as [0]")
                path.append(int(match.group(1)))
                self.pos = match.end()
            else:
                break
        if not path:
            raise self.error("a selector needs at least one property, as in $.field", start)
        return _resolver(tuple(path))

    def keyword(self) -> Callable[[Callable[[Any], Any]], Predicate] | None:
        words = self.text[self.pos :].split(None, 2)
        upper = [word.upper().rstrip(")}") for word in words[:2]]
        if not upper or upper[0] not in ("IS", "NOT"):
            return None
        tests: dict[tuple[str, str], Callable[[Any], bool]] = {
            ("IS", "NULL"): lambda value: value is None,
            ("IS", "TRUE"): lambda value: value is True,
            ("IS", "FALSE"): lambda value: value is False,
            ("NOT", "EXISTS"): lambda value: value is _MISSING,
        }
        key = (upper[0], upper[1] if len(upper) > 1 else "")
        if key not in tests:
            if key[0] == "IS" and key[1] in ("NOT", "EXISTS"):
                raise self.error("IS NOT and EXISTS are not filter pattern syntax (use NOT EXISTS)")
            raise self.error("expected IS NULL, IS TRUE, IS FALSE or NOT EXISTS")
        self.pos += len(words[0])
        self.skip_space()
        self.pos += len(key[1])
        test = tests[key]
        return lambda resolve: lambda obj: test(resolve(obj))

    def comparison(self, resolve: Callable[[Any], Any], operator: str, operator_at: int) -> Predicate:
        self.skip_space()
        value_at = self.pos
        if self.pos >= len(self.text):
            raise self.error("expected a value")
        char = self.text[self.pos]
        if char == '"':
            literal, self.pos = _quoted(self.text, self.pos)
            number = None
        elif char == "%":
            close = self.text.find("%", self.pos + 1)
            if close < 0:
                raise self.error("unterminated regular expression")
            regex = _compile_regex(self.text[self.pos + 1 : close], self.text, self.pos + 1)
            self.pos = close + 1
            if operator not in ("=", "!="):
                raise self.error("a regular expression compares with = or != only", operator_at)
            return _regex_comparison(resolve, regex, operator == "=")
        else:
            stop = self.pos
            while stop < len(self.text):
                c = self.text[stop]
                if c.isspace() or c in ")}" or self.text.startswith(("&&", "||"), stop):
                    break
                stop += 1
            literal = self.text[self.pos : stop]
            if not literal:
                raise self.error("expected a value")
            self.pos = stop
            number = float(literal) if _NUMBER_RE.fullmatch(literal) else None
        if operator in ("<", ">", "<=", ">="):
            if number is None:
                raise self.error(f"operator {operator} needs a number", value_at)
            return _numeric_comparison(resolve, operator, number)
        return _equality(resolve, literal, number, operator == "=")


def _resolver(path: tuple[str | int, ...]) -> Callable[[Any], Any]:
    if len(path) == 1 and isinstance(path[0], str):
        key = path[0]
        return lambda obj: obj.get(key, _MISSING) if type(obj) is dict else _MISSING

    def resolve(obj: Any) -> Any:
        for step in path:
            if isinstance(step, str):
                if type(obj) is not dict:
                    return _MISSING
                obj = obj.get(step, _MISSING)
                if obj is _MISSING:
                    return _MISSING
            else:
                if type(obj) is not list or step >= len(obj):
                    return _MISSING
                obj = obj[step]
        return obj

    return resolve


def _scalar_text(value: Any) -> str | None:
    """The text a value node compares as; None for what never compares (absent, null, containers)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return None


def _string_matcher(literal: str) -> Callable[[str], bool]:
    """A leading or trailing '*' is a wildcard; one in the middle is a literal character."""
    if literal == "*" or literal == "**":
        return lambda text: True
    if len(literal) >= 2 and literal[0] == "*" and literal[-1] == "*":
        inner = literal[1:-1]
        return lambda text: inner in text
    if literal.endswith("*"):
        prefix = literal[:-1]
        return lambda text: text.startswith(prefix)
    if literal.startswith("*"):
        suffix = literal[1:]
        return lambda text: text.endswith(suffix)
    return lambda text: text == literal


def _equality(resolve: Callable[[Any], Any], literal: str, number: float | None, equal: bool) -> Predicate:
    matcher = _string_matcher(literal)

    def predicate(obj: Any) -> bool:
        value = resolve(obj)
        kind = type(value)
        if number is not None and (kind is int or kind is float):
            return (value == number) is equal
        text = _scalar_text(value)
        if text is None:
            return False  # absent, null, object or array: neither = nor != matches
        return matcher(text) is equal

    return predicate


def _numeric_comparison(resolve: Callable[[Any], Any], operator: str, number: float) -> Predicate:
    compare: Callable[[float], bool] = {
        "<": lambda v: v < number,
        ">": lambda v: v > number,
        "<=": lambda v: v <= number,
        ">=": lambda v: v >= number,
    }[operator]

    def predicate(obj: Any) -> bool:
        value = resolve(obj)
        kind = type(value)
        return (kind is int or kind is float) and compare(value)

    return predicate


def _regex_comparison(resolve: Callable[[Any], Any], regex: re.Pattern[str], equal: bool) -> Predicate:
    def predicate(obj: Any) -> bool:
        text = _scalar_text(resolve(obj))
        if text is None:
            return False
        return (regex.search(text) is not None) is equal

    return predicate
