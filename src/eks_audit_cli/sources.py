"""Read log messages from what operators have at hand: raw lines, CloudWatch Logs exports,
Firehose objects, and the JSON of `aws logs filter-log-events` / `get-log-events`."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from eks_audit.delivery import GZIP_MAGIC, Problem, iter_log_events

SAMPLED = 1000  # the lines that tell what an input is
# create-export-task writes "<ISO timestamp> <message>" per line
_EXPORT_LINE = re.compile(rb"^\d{4}-\d{2}-\d{2}T[0-9:.]+Z? (.*)$")


def _peek_member(head: bytes) -> bytes:
    """The first bytes of the first gzip member (enough to tell Firehose records from text)."""
    try:
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, 64)
    except zlib.error:
        return b""


def read_messages(
    stream: BinaryIO, problems: list[str], name: str, refused: list[str] | None = None
) -> Iterator[bytes]:
    """Yield raw log messages (bytes, no newline) from a file of any supported kind; what is none of
    them (binary data, a corrupt gzip) is a problem named in `problems`, never a traceback. An empty
    file is named. With `refused` given (the messages must be JSON, as audit log messages are), a
    file whose first lines are mostly not JSON objects is named with what it looks like, in
    `problems` and `refused`."""
    buffered = io.BufferedReader(stream) if not hasattr(stream, "peek") else stream
    head = buffered.peek(4096)[:4096]
    said, seen, json_seen = len(problems), 0, 0
    for message in _read(buffered, head, problems, name):
        seen += 1
        if seen <= SAMPLED:  # what the input is, from its first lines: JSON objects, or not
            json_seen += message[:1] == b"{" and _is_json_object(message)
        yield message
    if len(problems) > said:
        return  # what went wrong is said already
    sampled = min(seen, SAMPLED)
    if not seen:
        problems.append(f"{name}: empty: no log messages in it")
    elif refused is not None and json_seen * 2 < sampled:  # an audit log is JSON objects, a line each
        found = (
            "no JSON log message"
            if not json_seen
            else f"only {json_seen} JSON log message{'s' * (json_seen > 1)}"
        )
        problem = (
            f"{name}: {found} in its first {sampled} lines: it looks like {looks_like(head)}; give audit "
            "log messages (JSON), one per line, a CloudWatch Logs export, or delivered objects"
        )
        problems.append(problem)
        refused.append(problem)


def _is_json_object(message: bytes) -> bool:
    try:
        return isinstance(orjson.loads(message), dict)
    except orjson.JSONDecodeError:
        return False


def looks_like(head: bytes) -> str:
    """What a text that holds no log message looks like, in words."""
    lines = [line.strip() for line in head.decode("utf-8", errors="replace").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.count(",") >= 1 and len(lines) > 1 and all(line.count(",") >= 1 for line in lines[1:3]):
        return f"CSV (header: {first[:60]})"
    if any(line.startswith(("#", "```", "|")) for line in lines[:20]):
        return "Markdown"
    if first.startswith("<"):
        return "HTML or XML"
    return "plain text"


def _read(buffered, head: bytes, problems: list[str], name: str) -> Iterator[bytes]:
    if head.startswith(GZIP_MAGIC):
        start = _peek_member(head).lstrip()
        if start.startswith(b'{"messageType"') or start.startswith(b'{"owner"'):

            def report(problem: Problem) -> None:
                problems.append(f"{name}: {problem}")

            for event in iter_log_events(buffered, report):
                yield event.message.encode()
            return
        try:
            yield from _text_lines(gzip.GzipFile(fileobj=buffered))
        except (OSError, EOFError, zlib.error) as exc:
            problems.append(f"{name}: corrupt gzip ({exc})")
        return
    if not _is_text(head):
        problems.append(f"{name}: not a log file (binary data: neither text lines, JSON nor gzip)")
        return
    first = buffered.readline()
    if _is_insights_csv(first):
        yield from _csv_messages(first, buffered)
        return
    if first.lstrip().startswith((b"{", b"[")) and _is_document_start(first):
        data = first + buffered.read()
        if _is_message_document(data):  # JSON only when it is: "[ERROR 400] ..." is a text line
            yield from _document_messages(data, problems, name)
        else:
            yield from _text_lines(io.BytesIO(data))
        return
    yield from _text_lines(itertools.chain([first], buffered))


def _is_insights_csv(first_line: bytes) -> bool:
    """The header of a CloudWatch Logs Insights CSV export: its fields are the query's, `@message`
    among them (`fields @timestamp, @message`)."""
    names = [name.strip().strip('"') for name in first_line.decode("utf-8", errors="replace").split(",")]
    return len(names) > 1 and "@message" in names


def _csv_messages(header: bytes, rest) -> Iterator[bytes]:
    """The @message column of a Logs Insights CSV export (quoted as CSV quotes it)."""
    text = io.TextIOWrapper(io.BytesIO(header + rest.read()), encoding="utf-8", errors="replace", newline="")
    for row in csv.DictReader(text):
        message = (row.get("@message") or "").strip()
        if message:
            yield message.encode()


def _is_text(head: bytes) -> bool:
    """UTF-8 text without NUL bytes (a multi-byte character cut at the end of `head` is fine)."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _is_message_document(data: bytes) -> bool:
    """One JSON document of messages: an object, or a non-empty array of strings and objects. Any
    other text (`[7]`, `[ ]`, `[ERROR 400] ...`) is log lines that happen to start with a bracket."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    if isinstance(document, list):
        return bool(document) and all(isinstance(item, (str, dict)) for item in document)
    return isinstance(document, dict)


def _document_messages(data: bytes, problems: list[str], name: str) -> Iterator[bytes]:
    """One JSON document: `filter-log-events` output ({"events": [...]}), one message (an object,
    pretty-printed or not, read as its one-line JSON, which is how CloudWatch Logs holds a JSON
    log event), or an array of messages."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        problems.append(
            f"{name}: not one JSON document ({exc}); give one log message per line, or one JSON message"
        )
        return
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        for event in document["events"]:
            yield str(event.get("message", "")).encode()
    elif isinstance(document, dict):
        yield orjson.dumps(document)
    elif isinstance(document, list):
        for item in document:
            yield item.encode() if isinstance(item, str) else orjson.dumps(item)
    else:
        problems.append(f"{name}: a JSON {type(document).__name__}, not a log message or a list of them")


def _is_document_start(first_line: bytes) -> bool:
    """Where a JSON document starts rather than one message per line: a first line that is not
    JSON by itself (`{` or `[` opening a pretty-printed document), or a one-line {"events": [...]}
    or array."""
    try:
        parsed = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return True
    return isinstance(parsed, list) or (isinstance(parsed, dict) and isinstance(parsed.get("events"), list))


def _text_lines(stream) -> Iterator[bytes]:
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        if line[:1] != b"{":
            export = _EXPORT_LINE.match(line)
            if export:
                line = export.group(1)
        yield line
