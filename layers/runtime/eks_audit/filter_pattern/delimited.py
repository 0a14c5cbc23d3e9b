"""Space-delimited patterns: `[ip, user, ..., status_code = 4* && bytes > 1000, bytes]`.

From AWS's page: an event's fields are separated by spaces, and what stands between brackets `[]` or
double quotes is one field (without them, as the page's extracted fields show); a pattern names the
fields in order, `...` stands for any number of fields, and a field may carry conditions: `=` `!=`
with text (`*` wildcards at either end) or a number, `< > <= >=` with a number, `%regex%`, joined by
`&&` and `||`. Decisions where the page is silent (docs/filter-patterns.md): without `...`, the last
field takes the rest of the event (the page's `[w1=ERROR, w2]` matches "ERROR 09/25/2014 ... Failed
to process request"); an empty place (`[..., status_code=4*,]`) is a field without a
name, as the archived page's extracted fields show; an event with fewer fields than the pattern does not match; a condition may
name any field of the pattern, and a name the pattern does not bind never matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .common import NUMBER_RE, CompiledPattern, Cursor, read_quoted, string_matcher
from .regex import RegexCounter, read_regex_value

_NAME_RE = re.compile(r"[A-Za-z0-9_$-]+")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
ELLIPSIS = "..."

Bindings = dict[str, str]
Condition = Callable[[Bindings], bool]


@dataclass(frozen=True)
class Field:
    name: str
    condition: Condition | None = None


def compile_delimited(text: str, start: int) -> CompiledPattern:
    items = _Parser(text, start).parse()
    return CompiledPattern(text, "delimited", _matcher(tuple(items)))


def split_fields(message: str) -> list[tuple[str, int]]:
    """The event's fields with where each starts: spaces separate, `[...]` and `"..."` group."""
    fields: list[tuple[str, int]] = []
    pos, end = 0, len(message)
    while pos < end:
        if message[pos].isspace():
            pos += 1
            continue
        closer = {"[": "]", '"': '"'}.get(message[pos])
        if closer is not None:
            close = message.find(closer, pos + 1)
            if close >= 0:
                fields.append((message[pos + 1 : close], pos))
                pos = close + 1
                continue
        stop = pos
        while stop < end and not message[stop].isspace():
            stop += 1
        fields.append((message[pos:stop], pos))
        pos = stop
    return fields


def _matcher(items: tuple[Field | str, ...]) -> Callable[[str], bool]:
    has_ellipsis = ELLIPSIS in items
    fields = [item for item in items if isinstance(item, Field)]

    def satisfied(bindings: Bindings) -> bool:
        return all(f.condition is None or f.condition(bindings) for f in fields)

    def assign(tokens: list[tuple[str, int]], item: int, token: int, bindings: Bindings) -> bool:
        if item == len(items):
            return token == len(tokens) and satisfied(bindings)
        current = items[item]
        if current == ELLIPSIS:
            return any(
                assign(tokens, item + 1, next_token, bindings) for next_token in range(token, len(tokens) + 1)
            )
        if token >= len(tokens):
            return False
        return assign(tokens, item + 1, token + 1, {**bindings, current.name: tokens[token][0]})

    def matches(message: str) -> bool:
        tokens = split_fields(message)
        if has_ellipsis:
            return assign(tokens, 0, 0, {})
        if len(tokens) < len(fields):
            return False
        bindings = {f.name: tokens[i][0] for i, f in enumerate(fields[:-1])}
        last = len(fields) - 1
        rest = tokens[last][0] if len(tokens) == len(fields) else message[tokens[last][1] :].rstrip()
        bindings[fields[last].name] = rest
        return satisfied(bindings)

    return matches


class _Parser(Cursor):
    def __init__(self, text: str, start: int):
        super().__init__(text, start + 1)  # past '['
        self.regexes = RegexCounter(text)

    def parse(self) -> list[Field | str]:
        items: list[Field | str] = []
        while True:
            self.skip_space()
            if not items and self.take("]"):
                break
            if self.take(ELLIPSIS):
                items.append(ELLIPSIS)
            elif self.text.startswith((",", "]"), self.pos):
                # an empty place is a field without a name: `[..., status_code=4*,]` has three
                items.append(Field(f"${len(items) + 1}"))
            else:
                items.append(self.field())
            if self.take(","):
                continue
            if not self.take("]"):
                raise self.error("expected ',' or ']'")
            break
        self.skip_space()
        if self.pos != len(self.text):
            raise self.error("unexpected text after ']'")
        if not any(isinstance(item, Field) for item in items):
            raise self.error("a space-delimited pattern needs at least one named field", 0)
        return items

    def field(self) -> Field:
        name = self.name()
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] in ",]":
            return Field(name)
        return Field(name, self.or_condition(name))

    def name(self) -> str:
        self.skip_space()
        match = _NAME_RE.match(self.text, self.pos)
        if not match:
            raise self.error("expected a field name")
        self.pos = match.end()
        return match.group()

    def or_condition(self, first_name: str | None) -> Condition:
        parts = [self.and_condition(first_name)]
        while self.take("||"):
            parts.append(self.and_condition(None))
        return parts[0] if len(parts) == 1 else lambda b: any(part(b) for part in parts)

    def and_condition(self, first_name: str | None) -> Condition:
        parts = [self.comparison(first_name)]
        while self.take("&&"):
            parts.append(self.comparison(None))
        return parts[0] if len(parts) == 1 else lambda b: all(part(b) for part in parts)

    def comparison(self, name: str | None) -> Condition:
        name = name or self.name()
        self.skip_space()
        operator = next((op for op in _OPERATORS if self.text.startswith(op, self.pos)), None)
        if operator is None:
            raise self.error("expected an operator (= != < > <= >=)")
        operator_at = self.pos
        self.pos += len(operator)
        self.skip_space()
        value_at = self.pos
        test = self.value_test(operator, operator_at, value_at)
        return lambda bindings: name in bindings and test(bindings[name])

    def value_test(self, operator: str, operator_at: int, value_at: int) -> Callable[[str], bool]:
        text = self.text
        if value_at >= len(text):
            raise self.error("expected a value")
        if text[value_at] == "%":
            search = read_regex_value(self, self.regexes, operator, operator_at).search
            equal = operator == "="
            return lambda value: (search(value) is not None) is equal
        if text[value_at] == '"':
            literal, self.pos = read_quoted(text, value_at)
        else:
            stop = value_at
            while stop < len(text) and not text[stop].isspace() and text[stop] not in ",]":
                if text.startswith(("&&", "||"), stop):
                    break
                stop += 1
            literal, self.pos = text[value_at:stop], stop
            if not literal:
                raise self.error("expected a value")
        number = float(literal) if NUMBER_RE.fullmatch(literal) else None
        if operator in ("<", ">", "<=", ">="):
            if number is None:
                raise self.error(f"operator {operator} needs a number", value_at)
            return _numeric(operator, number)
        matcher = string_matcher(literal)
        equal = operator == "="

        def test(value: str) -> bool:
            if number is not None and NUMBER_RE.fullmatch(value):
                return (float(value) == number) is equal
            return matcher(value) is equal

        return test


def _numeric(operator: str, number: float) -> Callable[[str], bool]:
    compare = {
        "<": lambda v: v < number,
        ">": lambda v: v > number,
        "<=": lambda v: v <= number,
        ">=": lambda v: v >= number,
    }[operator]
    return lambda value: NUMBER_RE.fullmatch(value) is not None and compare(float(value))
