"""`eks-audit decode`: delivered objects -> one audit event JSON per line."""

from __future__ import annotations

import sys

import click
import orjson

from eks_audit.delivery import LogEvent, Problem, iter_log_events


def _write_events(source, name: str, out, with_metadata: bool, problems: list[str]) -> int:
    written = 0

    def report(problem: Problem) -> None:
        problems.append(f"{name}: {problem}")

    for event in iter_log_events(source, report):
        line = _render(event, with_metadata)
        if line is None:
            problems.append(
                f"{name}: event {event.id or '?'} in {event.log_stream}: message is not JSON "
                f"(CloudWatch truncates events over its size limit)"
            )
            continue
        out.write(line)
        written += 1
    return written


def _render(event: LogEvent, with_metadata: bool) -> bytes | None:
    try:
        parsed = orjson.loads(event.message)
    except orjson.JSONDecodeError:
        return None
    if with_metadata:
        parsed = {
            "logGroup": event.log_group,
            "logStream": event.log_stream,
            "timestamp": event.timestamp,
            "id": event.id,
            "event": parsed,
        }
    return orjson.dumps(parsed) + b"\n"


@click.command("decode")
@click.argument("objects", nargs=-1, required=True)
@click.option(
    "--with-metadata", is_flag=True, help="Wrap each event with its log group, stream and timestamp."
)
def command(objects: tuple[str, ...], with_metadata: bool) -> None:
    """Decode delivered objects (every gzip member of each) into one audit event JSON per line.

    OBJECTS are local files or - for standard input. Problems (corrupt members, events that are not
    JSON) go to standard error; the exit status is 1 when there were any.
    """
    out = sys.stdout.buffer
    problems: list[str] = []
    total = 0
    for name in objects:
        if name == "-":
            total += _write_events(sys.stdin.buffer, "<stdin>", out, with_metadata, problems)
            continue
        try:
            with open(name, "rb") as source:
                total += _write_events(source, name, out, with_metadata, problems)
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror}")
    out.flush()
    for problem in problems:
        click.echo(f"eks-audit decode: {problem}", err=True)
    click.echo(f"eks-audit decode: {total} events from {len(objects)} object(s)", err=True)
    if problems:
        sys.exit(1)
