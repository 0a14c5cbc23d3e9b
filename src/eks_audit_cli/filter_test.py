"""`eks-audit filter-test`: what a filter pattern keeps and drops of real audit lines."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

import click

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.filter_pattern import CompiledPattern, PatternError, compile_pattern


@dataclass
class Tally:
    lines: int = 0
    kept: int = 0
    dropped: int = 0
    bytes_kept: int = 0
    bytes_dropped: int = 0


def evaluate_lines(pattern: CompiledPattern, lines, tally: Tally, on_line=None) -> None:
    """Evaluate raw log lines (bytes, with or without the newline); on_line(line, kept) if given."""
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        kept = pattern.matches(line.decode("utf-8", errors="replace"))
        tally.lines += 1
        if kept:
            tally.kept += 1
            tally.bytes_kept += len(line)
        else:
            tally.dropped += 1
            tally.bytes_dropped += len(line)
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


@click.command("filter-test")
@click.option("--pattern", help="The filter pattern (default: the stack's standard pattern).")
@click.option("--pattern-file", type=click.File("r"), help="Read the pattern from a file.")
@click.option(
    "--print", "print_", type=click.Choice(["kept", "dropped"]), help="Write those lines to stdout."
)
@click.argument("files", nargs=-1, type=click.File("rb"))
@click.pass_obj
def command(globals_, pattern, pattern_file, print_, files) -> None:
    """Evaluate a CloudWatch Logs filter pattern over audit log lines (one raw log message per line)
    from FILES (or - / nothing for standard input); report counts and bytes kept and dropped."""
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

    tally = Tally()
    for source in files or (click.open_file("-", "rb"),):
        evaluate_lines(compiled, source, tally, on_line)
    out.flush()

    report = {"pattern": text, **asdict(tally)}
    echo_report = (lambda s: click.echo(s, err=True)) if print_ else click.echo
    if globals_.json:
        echo_report(json.dumps(report))
        return
    echo_report(
        f"lines {tally.lines}: kept {tally.kept} ({_percent(tally.kept, tally.lines)}), "
        f"dropped {tally.dropped} ({_percent(tally.dropped, tally.lines)})\n"
        f"bytes {tally.bytes_kept + tally.bytes_dropped}: kept {tally.bytes_kept} "
        f"({_percent(tally.bytes_kept, tally.bytes_kept + tally.bytes_dropped)}), "
        f"dropped {tally.bytes_dropped}"
    )
