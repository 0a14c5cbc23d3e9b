"""JSON patterns: `{ $.a.b[0].c = "x" && ($.n > 1 || $.f NOT EXISTS) }`.

Selectors: `$.name` (letters, digits, `-`, `_`), `[0]` array indexes, bracket notation for keys
that hold dots or other characters (`$.['cluster.name']`, also nested: `$.a.['b.c'].d`), and the
wildcards `[*]` (any array element) and `.*` (any field of an object): at most one wildcard in a
selector and three in a pattern, AWS's quotas. A wildcard selector matches when any of the values it
reaches satisfies the condition (`NOT EXISTS`: when it reaches none).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import (
    NUMBER_RE,
    CompiledPattern,
    Cursor,
    Predicate,
    read_quoted,
    scalar_text,
    string_matcher,
)
from .regex import RegexCounter, read_regex_value

try:  # orjson is several times faster; the standard library is the fallback
    from orjson import JSONDecodeError as _JSONError
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised where orjson is absent
    from json import JSONDecodeError as _JSONError
    from json import loads as _loads

_MISSING = object()
_IDENT_RE = re.compile(r"[A-Za-z0-9_-]+")
_INDEX_RE = re.compile(r"\[(\d+)\]")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_WILDCARDS_PER_SELECTOR = 1
_WILDCARDS_PER_PATTERN = 3
ANY_FIELD = ("*field",)
ANY_ELEMENT = ("*element",)
Step = str | int | tuple[str]
ValueTest = Callable[[Any], bool]


def compile_json(text: str, start: int) -> CompiledPattern:
    predicate = _JsonParser(text, start).parse()
    return CompiledPattern(text, "json", _text_predicate(predicate), predicate)


def _text_predicate(predicate: Predicate) -> Callable[[str], bool]:
    def matches(message: str) -> bool:
        try:
            obj = _loads(message)
        except (_JSONError, ValueError, TypeError):
            return False  # a message that is not JSON never matches a JSON pattern
        return isinstance(obj, (dict, list)) and predicate(obj)

    return matches


@dataclass(frozen=True)
class Selector:
    path: tuple[Step, ...]

    @property
    def multi(self) -> bool:
        return any(isinstance(step, tuple) for step in self.path)

    def where(self, test: ValueTest) -> Predicate:
        """A predicate over the document: `test` holds for the value (any value, with a wildcard)."""
        if self.multi:
            values = self.values
            return lambda obj: any(test(value) for value in values(obj))
        resolve = _resolver(self.path)
        return lambda obj: test(resolve(obj))

    def absent(self) -> Predicate:
        if self.multi:
            values = self.values
            return lambda obj: not values(obj)
        resolve = _resolver(self.path)
        return lambda obj: resolve(obj) is _MISSING

    def values(self, obj: Any) -> list[Any]:
        found = [obj]
        for step in self.path:
            following = []
            for node in found:
                if step == ANY_FIELD:
                    if type(node) is dict:
                        following.extend(node.values())
                elif step == ANY_ELEMENT:
                    if type(node) is list:
                        following.extend(node)
                elif isinstance(step, str):
                    if type(node) is dict and step in node:
                        following.append(node[step])
                elif type(node) is list and step < len(node):
                    following.append(node[step])
            found = following
        return found


def _resolver(path: tuple[Step, ...]) -> Callable[[Any], Any]:
    """One value (or _MISSING) for a path without wildcards; the hot path of the standard pattern."""
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


class _JsonParser(Cursor):
    """Recursive descent: or := and ('||' and)* ; and := primary ('&&' primary)* ;
    primary := '(' or ')' | selector (op value | IS NULL|TRUE|FALSE | NOT EXISTS)."""

    def __init__(self, text: str, start: int):
        super().__init__(text, start + 1)  # past '{'
        self.regexes = RegexCounter(text)
        self.wildcards = 0

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
        selector = self.selector()
        self.skip_space()
        keyword = self.keyword(selector)
        if keyword is not None:
            return keyword
        for operator in _OPERATORS:
            if self.text.startswith(operator, self.pos):
                operator_at = self.pos
                self.pos += len(operator)
                return selector.where(self.comparison(operator, operator_at))
        raise self.error("expected an operator (= != < > <= >=), IS or NOT EXISTS")

    def selector(self) -> Selector:
        start = self.pos
        self.pos += 1
        path: list[Step] = []
        wildcards_at: list[int] = []
        text = self.text
        while self.pos < len(text):
            char, step_at = text[self.pos], self.pos
            if text.startswith(".*", self.pos):
                path.append(ANY_FIELD)
                self.pos += 2
            elif text.startswith(".[", self.pos):
                self.pos += 1  # `$.['key']`: the bracket follows the dot
                path.append(self.bracket())
            elif char == ".":
                match = _IDENT_RE.match(text, self.pos + 1)
                if not match:
                    raise self.error("expected a property name after '.'", self.pos + 1)
                path.append(match.group())
                self.pos = match.end()
            elif char == "[":
                path.append(self.bracket())
            else:
                break
            if isinstance(path[-1], tuple):
                wildcards_at.append(step_at)
        if not path:
            raise self.error("a selector needs at least one property, as in $.field", start)
        if len(wildcards_at) > _WILDCARDS_PER_SELECTOR:
            raise self.error("only one wildcard selector is allowed in a property selector", wildcards_at[1])
        self.wildcards += len(wildcards_at)
        if self.wildcards > _WILDCARDS_PER_PATTERN:
            raise self.error(
                f"more than {_WILDCARDS_PER_PATTERN} wildcard selectors in one filter pattern", start
            )
        return Selector(tuple(path))

    def bracket(self) -> Step:
        """`[0]`, `[*]`, or `['key']` (either quote) at self.pos."""
        text = self.text
        if text.startswith("[*]", self.pos):
            self.pos += 3
            return ANY_ELEMENT
        match = _INDEX_RE.match(text, self.pos)
        if match:
            self.pos = match.end()
            return int(match.group(1))
        if text.startswith(("['", '["'), self.pos):
            key, after = read_quoted(text, self.pos + 1)
            if not text.startswith("]", after):
                raise self.error("expected ']' after the quoted key", after)
            self.pos = after + 1
            return key
        raise self.error("expected an array index such as [0], [*] or a quoted key such as ['a.b']")

    def keyword(self, selector: Selector) -> Predicate | None:
        words = self.text[self.pos :].split(None, 2)
        upper = [word.upper().rstrip(")}") for word in words[:2]]
        if not upper or upper[0] not in ("IS", "NOT"):
            return None
        tests: dict[tuple[str, str], ValueTest] = {
            ("IS", "NULL"): lambda value: value is None,
            ("IS", "TRUE"): lambda value: value is True,
            ("IS", "FALSE"): lambda value: value is False,
        }
        key = (upper[0], upper[1] if len(upper) > 1 else "")
        if key not in tests and key != ("NOT", "EXISTS"):
            if key[0] == "IS" and key[1] in ("NOT", "EXISTS"):
                raise self.error("IS NOT and EXISTS are not filter pattern syntax (use NOT EXISTS)")
            raise self.error("expected IS NULL, IS TRUE, IS FALSE or NOT EXISTS")
        self.pos += len(words[0])
        self.skip_space()
        self.pos += len(key[1])
        if key == ("NOT", "EXISTS"):
            return selector.absent()
        return selector.where(tests[key])

    def comparison(self, operator: str, operator_at: int) -> ValueTest:
        self.skip_space()
        value_at = self.pos
        if self.pos >= len(self.text):
            raise self.error("expected a value")
        char = self.text[self.pos]
        if char == '"':
            literal, self.pos = read_quoted(self.text, self.pos)
            number = None
        elif char == "%":
            regex = read_regex_value(self, self.regexes, operator, operator_at)
            return _regex_test(regex, operator == "=")
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
            number = float(literal) if NUMBER_RE.fullmatch(literal) else None
        if operator in ("<", ">", "<=", ">="):
            if number is None:
                raise self.error(f"operator {operator} needs a number", value_at)
            return _numeric_test(operator, number)
        return _equality_test(literal, number, operator == "=")


def _equality_test(literal: str, number: float | None, equal: bool) -> ValueTest:
    matcher = string_matcher(literal)

    def test(value: Any) -> bool:
        kind = type(value)
        if number is not None and (kind is int or kind is float):
            return (value == number) is equal
        text = scalar_text(value)
        if text is None:
            return False  # absent, null, object or array: neither = nor != matches
        return matcher(text) is equal

    return test


def _numeric_test(operator: str, number: float) -> ValueTest:
    compare: Callable[[float], bool] = {
        "<": lambda v: v < number,
        ">": lambda v: v > number,
        "<=": lambda v: v <= number,
        ">=": lambda v: v >= number,
    }[operator]

    def test(value: Any) -> bool:
        kind = type(value)
        return (kind is int or kind is float) and compare(value)

    return test


def _regex_test(regex: re.Pattern[str], equal: bool) -> ValueTest:
    def test(value: Any) -> bool:
        text = scalar_text(value)
        if text is None:
            return False
        return (regex.search(text) is not None) is equal

    return test
