"""What every kind of filter pattern shares: errors, the compiled form, quoted strings, values."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

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


@dataclass(frozen=True)
class CompiledPattern:
    text: str
    kind: str  # "all" | "terms" | "regex" | "json" | "delimited"
    _text_predicate: Callable[[str], bool]
    _json_predicate: Predicate | None = None

    def matches(self, message: str) -> bool:
        return self._text_predicate(message)

    def matches_parsed(self, obj: Any) -> bool:
        """For JSON patterns: evaluate a message that is already parsed."""
        if self._json_predicate is None:
            raise TypeError("matches_parsed() needs a JSON pattern")
        return isinstance(obj, (dict, list)) and self._json_predicate(obj)


class Cursor:
    """A position in a pattern being parsed, and the moves every parser makes."""

    def __init__(self, text: str, pos: int):
        self.text = text
        self.pos = pos

    def error(self, problem: str, position: int | None = None) -> PatternError:
        return PatternError(problem, self.text, self.pos if position is None else position)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, token: str) -> bool:
        """Skip spaces; consume `token` if it comes next."""
        self.skip_space()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False


def read_quoted(text: str, pos: int) -> tuple[str, int]:
    """Read a string quoted with text[pos] (backslash escapes the quote and itself); returns the
    string and the position after the closing quote."""
    quote = text[pos]
    out = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise PatternError("unterminated quoted string", text, pos)


def scalar_text(value: Any) -> str | None:
    """The text a value node compares as; None for what never compares (absent, null, containers)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return None


def string_matcher(literal: str) -> Callable[[str], bool]:
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
