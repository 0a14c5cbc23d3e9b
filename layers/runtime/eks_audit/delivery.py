"""Read what Firehose delivered: an object of concatenated gzip members, each member one
CloudWatch Logs subscription record (`{"messageType", "logGroup", "logStream", "logEvents"}`).

Streaming: the object is read in chunks and only one member is held decompressed at a time, so
memory stays flat on large objects. Written by hand because `gzip` hides member boundaries (it
returns the members' bytes run together) and gives up on the first bad member; here a corrupt or
truncated member is reported with its offset, the members before it are kept, and reading resumes
at the next gzip header. A member that is itself gzip (Firehose's own GZIP on top of CloudWatch's)
is unwrapped.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16


@dataclass(frozen=True)
class LogEvent:
    log_group: str
    log_stream: str
    timestamp: int
    id: str
    message: str


@dataclass(frozen=True)
class Problem:
    """Something that could not be read; `offset` is the byte offset of the member in the object."""

    offset: int
    reason: str

    def __str__(self) -> str:
        return f"byte {self.offset}: {self.reason}"


def iter_members(stream: BinaryIO, chunk_size: int = CHUNK) -> Iterator[tuple[int, bytes] | Problem]:
    """Yield (offset, decompressed bytes) per gzip member, or a Problem for a bad stretch."""
    buffer = b""
    base = 0  # object offset of buffer[0]
    eof = False

    def fill() -> bool:
        nonlocal buffer, eof
        if eof:
            return False
        data = stream.read(chunk_size)
        if not data:
            eof = True
            return False
        buffer += data
        return True

    while True:
        if not buffer and not fill():
            return
        if len(buffer) < len(GZIP_MAGIC) and fill():
            continue
        if not buffer.startswith(GZIP_MAGIC):
            skip = _resync(buffer)
            while skip is None and fill():
                skip = _resync(buffer)
            skip = len(buffer) if skip is None else skip
            yield Problem(base, f"{skip} bytes that are not a gzip member skipped")
            buffer, base = buffer[skip:], base + skip
            continue
        start = base
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out: list[bytes] = []
        consumed = 0
        failure = None
        pending = buffer
        buffer = b""
        while True:
            try:
                out.append(decompressor.decompress(pending))
            except zlib.error as exc:
                failure = f"corrupt gzip member ({exc})"
                break
            if decompressor.eof:
                consumed += len(pending) - len(decompressor.unused_data)
                buffer = decompressor.unused_data
                break
            consumed += len(pending)
            pending = stream.read(chunk_size) if not eof else b""
            if not pending:
                eof = True
                failure = "truncated gzip member (the object ends inside it)"
                break
        if failure is None:
            base = start + consumed
            yield start, b"".join(out)
            continue
        yield Problem(start, failure)
        if failure.startswith("truncated"):
            return
        # resume at the next gzip header after this member's start
        rest = pending[1:] if consumed == 0 else pending
        base = start + (1 if consumed == 0 else consumed)
        buffer = rest


def _resync(buffer: bytes) -> int | None:
    index = buffer.find(GZIP_MAGIC, 1)
    return None if index < 0 else index


def iter_records(stream: BinaryIO) -> Iterator[dict[str, Any] | Problem]:
    """Yield each subscription record (parsed), or a Problem; double gzip is unwrapped."""
    for item in iter_members(stream):
        if isinstance(item, Problem):
            yield item
            continue
        offset, payload = item
        if payload.startswith(GZIP_MAGIC):
            for inner in iter_records(io.BytesIO(payload)):
                yield (
                    Problem(offset, f"inside a double-compressed member: {inner}")
                    if isinstance(inner, Problem)
                    else inner
                )
            continue
        try:
            record = _loads(payload)
        except ValueError as exc:
            yield Problem(offset, f"member is not a JSON subscription record ({exc})")
            continue
        if not isinstance(record, dict) or "messageType" not in record:
            yield Problem(offset, "member is not a CloudWatch Logs subscription record")
            continue
        yield record


def iter_log_events(
    stream: BinaryIO, on_problem: Callable[[Problem], None] | None = None
) -> Iterator[LogEvent]:
    """Every log event of every DATA_MESSAGE record; CONTROL_MESSAGE records carry no data."""
    for record in iter_records(stream):
        if isinstance(record, Problem):
            if on_problem is not None:
                on_problem(record)
            continue
        if record.get("messageType") != "DATA_MESSAGE":
            continue
        group = record.get("logGroup", "")
        log_stream = record.get("logStream", "")
        for event in record.get("logEvents") or ():
            yield LogEvent(
                group, log_stream, event.get("timestamp", 0), event.get("id", ""), event.get("message", "")
            )


def encode_record(
    log_group: str,
    log_stream: str,
    messages: Iterable[tuple[int, str]],
    *,
    owner: str = "123456789012",
    filter_names: Iterable[str] = ("eks-audit",),
    first_id: int = 0,
    ids: Sequence[str] | None = None,
) -> bytes:
    """One gzip member as CloudWatch Logs hands it to Firehose (the local cloud and tests use it)."""
    events = [
        {"id": ids[index] if ids else str(first_id + index), "timestamp": timestamp, "message": message}
        for index, (timestamp, message) in enumerate(messages)
    ]
    record = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": list(filter_names),
        "logEvents": events,
    }
    return _gzip(json.dumps(record, separators=(",", ":")).encode())


def control_record(owner: str = "CloudwatchLogs") -> bytes:
    record = {
        "messageType": "CONTROL_MESSAGE",
        "owner": owner,
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 0,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
            }
        ],
    }
    return _gzip(json.dumps(record).encode())


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()
