"""Regular expressions in filter patterns (`%...%`), with AWS's restrictions.

AWS's "Supported regular expressions (regex) syntax": letters, digits, the symbols `: _ # = @ / ; , -`
and the operators `^ $ ? [ ] { } | \\ * + .`; `(` and `)` are refused, and so are multi-byte
characters; at most two regular expressions in one JSON or space-delimited pattern. The page's own
examples contain spaces (`%^starting|^initializing|^shutting down%`), so a space is accepted too.
"""

from __future__ import annotations

import re
import string

from .common import CompiledPattern, Cursor, PatternError

ALLOWED = frozenset(string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+." + " ")
MAX_PER_PATTERN = 2


def compile_regex(body: str, pattern: str, position: int) -> re.Pattern[str]:
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
        if char not in ALLOWED:
            raise PatternError(
                f"{char!r} is not supported in filter pattern regular expressions (use \\x{ord(char):02X})",
                pattern,
                position + offset,
            )
    try:
        return re.compile(body)
    except re.error as exc:
        raise PatternError(
            f"bad regular expression ({exc.msg})", pattern, position + (exc.pos or 0)
        ) from None


def compile_standalone_regex(text: str, start: int) -> CompiledPattern:
    stripped = text.strip()
    search = compile_regex(stripped[1:-1], text, start + 1).search
    return CompiledPattern(text, "regex", lambda message: search(message) is not None)


class RegexCounter:
    """Counts the regular expressions of one pattern against AWS's limit of two."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.count = 0

    def add(self, position: int) -> None:
        self.count += 1
        if self.count > MAX_PER_PATTERN:
            raise PatternError(
                f"more than {MAX_PER_PATTERN} regular expressions in one filter pattern",
                self.pattern,
                position,
            )


def read_regex_value(
    cursor: Cursor, regexes: RegexCounter, operator: str, operator_at: int
) -> re.Pattern[str]:
    """A `%...%` value at the cursor, compared with `operator` (= or != only), counted against the
    pattern's limit; the cursor ends past the closing `%`."""
    text, start = cursor.text, cursor.pos
    close = text.find("%", start + 1)
    if close < 0:
        raise cursor.error("unterminated regular expression")
    regexes.add(start)
    regex = compile_regex(text[start + 1 : close], text, start + 1)
    cursor.pos = close + 1
    if operator not in ("=", "!="):
        raise cursor.error("a regular expression compares with = or != only", operator_at)
    return regex
