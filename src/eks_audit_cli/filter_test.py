"""`eks-audit filter-test`: what a filter pattern keeps and drops of real audit lines, and what
the dropped lines are (by request URI, verb and user), so that a pattern's cost is visible."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field

import click
import orjson

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.filter_pattern import CompiledPattern, PatternError, compile_pattern

from .sources import read_messages


@dataclass
class Tally:
    lines: int = 0
    kept: int = 0
    dropped: int = 0
    bytes_kept: int = 0
    bytes_dropped: int = 0


@dataclass
class Breakdown:
    """Dropped lines and bytes by request URI (path, without the query), verb and user."""

    lines: dict[str, Counter] = field(
        default_factory=lambda: {"request_uri": Counter(), "verb": Counter(), "user": Counter()}
    )
    bytes: dict[str, Counter] = field(
        default_factory=lambda: {"request_uri": Counter(), "verb": Counter(), "user": Counter()}
    )

    def add(self, event: object, size: int) -> None:
        if not isinstance(event, dict):
            keys = {"request_uri": "(not JSON)", "verb": "(not JSON)", "user": "(not JSON)"}
        else:
            uri = event.get("requestURI")
            user = event.get("user")
            keys = {
                "request_uri": uri.split("?", 1)[0] if isinstance(uri, str) else "(none)",
                "verb": str(event.get("verb", "(none)")),
                "user": str(user.get("username", "(none)")) if isinstance(user, dict) else "(none)",
            }
        for dimension, key in keys.items():
            self.lines[dimension][key] += 1
            self.bytes[dimension][key] += size

    def top(self, n: int) -> dict[str, list[dict]]:
        return {
            dimension: [
                {"value": key, "lines": count, "bytes": self.bytes[dimension][key]}
                for key, count in counter.most_common(n)
            ]
            for dimension, counter in self.lines.items()
        }


def evaluate(
    pattern: CompiledPattern, messages, tally: Tally, breakdown: Breakdown | None = None, on_line=None
) -> None:
    """Evaluate raw messages (bytes). JSON patterns parse each line once (orjson)."""
    json_pattern = pattern.kind == "json"
    matches_parsed, matches = pattern.matches_parsed if json_pattern else None, pattern.matches
    for line in messages:
        size = len(line)
        event = None
        if json_pattern:
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                event = None
            kept = event is not None and matches_parsed(event)
        else:
            kept = matches(line.decode("utf-8", errors="replace"))
        tally.lines += 1
        if kept:
            tally.kept += 1
            tally.bytes_kept += size
        else:
            tally.dropped += 1
            tally.bytes_dropped += size
            if breakdown is not None:
                if event is None and not json_pattern:
                    try:
                        event = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        event = None
                breakdown.add(event, size)
        if on_line is not None:
            on_line(line, kept)


def _load_pattern(pattern: str | None, pattern_file) -> str:
    if pattern is not None and pattern_file is not None:
        raise click.UsageError("give --pattern or --pattern-file, not both")
    if pattern_file is not None:
        return pattern_file.read().strip("\n")
    return STANDARD_FILTER_PATTERN if pattern is None else pattern


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


@click.command("filter-test")
@click.option("--pattern", help="The filter pattern (default: the stack's standard pattern).")
@click.option("--pattern-file", type=click.File("r"), help="Read the pattern from a file.")
@click.option(
    "--print", "print_", type=click.Choice(["kept", "dropped"]), help="Write those lines to stdout."
)
@click.option(
    "--top",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="How many request URIs, verbs and users to list among the dropped lines.",
)
@click.argument("files", nargs=-1, type=click.File("rb"))
@click.pass_obj
def command(globals_, pattern, pattern_file, print_, top, files) -> None:
    """Evaluate a CloudWatch Logs filter pattern over audit log messages and report counts and bytes
    kept and dropped, and the top request URIs, verbs and users among the dropped.

    FILES (or - / nothing for standard input) hold one raw log message per line, a CloudWatch Logs
    export (`<timestamp> <message>` lines, gzip or not), delivered Firehose objects, or the JSON of
    `aws logs filter-log-events`.
    """
    text = _load_pattern(pattern, pattern_file)
    try:
        compiled = compile_pattern(text)
    except PatternError as exc:
        click.echo(f"eks-audit filter-test: {exc}", err=True)
        sys.exit(2)

    out = sys.stdout.buffer
    on_line = None
    if print_ is not None:
        wanted = print_ == "kept"

        def on_line(line: bytes, kept: bool) -> None:
            if kept is wanted:
                out.write(line + b"\n")

    tally, breakdown, problems = Tally(), Breakdown() if top else None, []
    for source in files or (click.open_file("-", "rb"),):
        evaluate(
            compiled,
            read_messages(source, problems, getattr(source, "name", "<stdin>")),
            tally,
            breakdown,
            on_line,
        )
    out.flush()
    for problem in problems:
        click.echo(f"eks-audit filter-test: {problem}", err=True)

    echo = (lambda s: click.echo(s, err=True)) if print_ else click.echo
    report = {"pattern": text, **asdict(tally), "dropped_by": breakdown.top(top) if breakdown else {}}
    if globals_.json:
        echo(json.dumps(report))
        return
    total_bytes = tally.bytes_kept + tally.bytes_dropped
    echo(
        f"lines {tally.lines}: kept {tally.kept} ({_percent(tally.kept, tally.lines)}), "
        f"dropped {tally.dropped} ({_percent(tally.dropped, tally.lines)})"
    )
    echo(
        f"bytes {_size(total_bytes)}: kept {_size(tally.bytes_kept)} ({_percent(tally.bytes_kept, total_bytes)}), "
        f"dropped {_size(tally.bytes_dropped)}"
    )
    for dimension, rows in report["dropped_by"].items():
        if rows:
            echo(f"dropped by {dimension.replace('_', ' ')}:")
            for row in rows:
                echo(f"  {row['lines']:>8} lines {_size(row['bytes']):>10}  {row['value']}")
