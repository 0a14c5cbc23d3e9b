"""`eks-audit decode`: delivered objects -> one audit event JSON per line."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
import orjson
from botocore.exceptions import ClientError

from eks_audit.delivery import LogEvent, Problem, iter_log_events

from .options import global_options
from .session import Aws


def _write_events(source, name: str, out, with_metadata: bool, problems: list[str]) -> int:
    written, said = 0, len(problems)

    def report(problem: Problem) -> None:
        problems.append(f"{name}: {problem}")

    for event in iter_log_events(source, report):
        line = render_event(event, with_metadata)
        if line is None:
            problems.append(
                f"{name}: event {event.id or '?'} in {event.log_stream}: message is not JSON "
                f"(CloudWatch truncates events over its size limit)"
            )
            continue
        out.write(line)
        written += 1
    if not written and len(problems) == said and getattr(source, "tell", None) and _is_empty(source):
        problems.append(f"{name}: empty: nothing to decode")
    return written


def _is_empty(source) -> bool:
    """Whether a file read to its end held nothing at all (a stream that cannot tell is not)."""
    try:
        return source.tell() == 0
    except (OSError, ValueError):
        return False


def render_event(event: LogEvent, with_metadata: bool) -> bytes | None:
    """One audit event as a JSON line (with its log group, stream, time and id if asked); None when
    the message is not JSON (CloudWatch truncates events over its size limit)."""
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


def s3_objects(s3, url: str) -> Iterator[tuple[str, str]]:
    """(bucket, key) for s3://bucket/key, or for every object under s3://bucket/prefix/."""
    bucket, _, key = url[len("s3://") :].partition("/")
    if key and not key.endswith("/"):
        yield bucket, key
        return
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            yield bucket, item["Key"]


@click.command("decode")
@click.argument("objects", nargs=-1, required=True)
@click.option(
    "--with-metadata", is_flag=True, help="Wrap each event with its log group, stream and timestamp."
)
@global_options(only=("regions", "profile", "endpoint_url"))
@click.pass_obj
def command(globals_, objects: tuple[str, ...], with_metadata: bool) -> None:
    """Decode delivered objects (every gzip member of each) into one audit event JSON per line.

    OBJECTS are local files, - for standard input, s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for every
    object under a prefix. Objects are streamed: memory stays flat however large they are. Problems
    (corrupt members, events that are not JSON) go to standard error; exit status 1 when there were any,
    2 when nothing could be read at all (an empty input, a file that is not a delivered object).
    """
    out = sys.stdout.buffer
    problems: list[str] = []
    total = count = 0
    s3 = None
    for name in objects:
        if name.startswith("s3://"):
            if s3 is None:
                aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions)
                s3 = aws.client(
                    "s3", globals_.regions[0] if globals_.regions else aws.session.region_name or "us-east-1"
                )
            try:
                for bucket, key in s3_objects(s3, name):
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
                    total += _write_events(body, f"s3://{bucket}/{key}", out, with_metadata, problems)
                    count += 1
            except ClientError as exc:
                problems.append(f"{name}: {exc.response['Error'].get('Message') or exc}")
            continue
        count += 1
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
    if count == 0 and not problems:  # nothing to read is no success (exit 2, as for filter-test)
        click.echo(f"eks-audit decode: no objects under {', '.join(objects)}", err=True)
        sys.exit(2)
    click.echo(f"eks-audit decode: {total} events from {count} object(s)", err=True)
    if problems and not total:  # nothing to read: an empty input, a file that is not a delivered object
        sys.exit(2)
    if problems:
        sys.exit(1)
