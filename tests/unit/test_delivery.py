"""The decoder over multi-member, CONTROL_MESSAGE, double-compressed, corrupt and truncated input."""

import gzip
import io
import json

import pytest

from eks_audit.delivery import (
    Problem,
    control_record,
    encode_record,
    iter_log_events,
    iter_members,
)

GROUP = "/aws/eks/payments/cluster"
STREAM = "kube-apiserver-audit-0123456789abcdef0123456789abcdef"


def member(*messages: str, first_id: int = 0) -> bytes:
    return encode_record(
        GROUP, STREAM, [(1_700_000_000_000 + i, m) for i, m in enumerate(messages)], first_id=first_id
    )


def decode(data: bytes, chunk: int | None = None):
    problems: list[Problem] = []
    stream = io.BytesIO(data)
    if chunk is not None:  # read in tiny chunks to cross member boundaries mid-read
        original = stream.read
        stream.read = lambda n=-1: original(min(n, chunk) if n > 0 else chunk)
    events = list(iter_log_events(stream, problems.append))
    return events, problems


def test_every_member_of_a_multi_member_object_is_read():
    data = member('{"n":1}', '{"n":2}') + member('{"n":3}', first_id=2) + member('{"n":4}', first_id=3)
    events, problems = decode(data)
    assert [json.loads(e.message)["n"] for e in events] == [1, 2, 3, 4]
    assert problems == []
    assert {e.log_group for e in events} == {GROUP}
    assert {e.log_stream for e in events} == {STREAM}
    assert events[0].timestamp == 1_700_000_000_000
    # the standard library's single-member habit would see only the first record
    assert len(json.loads(gzip.GzipFile(fileobj=io.BytesIO(data)).read1())["logEvents"]) == 2


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_member_boundaries_inside_read_chunks(chunk):
    data = member('{"n":1}') + member('{"n":2}') + member('{"n":3}')
    events, problems = decode(data, chunk)
    assert [json.loads(e.message)["n"] for e in events] == [1, 2, 3]
    assert problems == []


def test_control_messages_carry_no_data():
    events, problems = decode(control_record() + member('{"n":1}') + control_record())
    assert [e.message for e in events] == ['{"n":1}']
    assert problems == []


def test_firehose_gzip_on_top_is_unwrapped():
    inner = member('{"n":1}') + member('{"n":2}')
    events, problems = decode(gzip.compress(inner))
    assert [e.message for e in events] == ['{"n":1}', '{"n":2}']
    assert problems == []


def test_corrupt_member_is_reported_and_the_others_kept():
    first, bad, last = member('{"n":1}'), bytearray(member('{"n":2}')), member('{"n":3}')
    bad[12:20] = b"\xff" * 8  # damage the deflate stream after the header
    events, problems = decode(first + bytes(bad) + last)
    assert [e.message for e in events] == ['{"n":1}', '{"n":3}']
    assert problems and problems[0].offset == len(first)
    assert "corrupt" in problems[0].reason


def test_truncated_object_keeps_the_members_before_it():
    first, second = member('{"n":1}'), member('{"n":2}')
    events, problems = decode(first + second[:-6])
    assert [e.message for e in events] == ['{"n":1}']
    assert len(problems) == 1
    assert problems[0].offset == len(first)
    assert "truncated" in problems[0].reason


def test_leading_garbage_is_skipped_and_reported():
    events, problems = decode(b"not gzip at all" + member('{"n":1}'))
    assert [e.message for e in events] == ['{"n":1}']
    assert problems[0].offset == 0
    assert "15 bytes" in problems[0].reason


def test_member_that_is_not_a_subscription_record_is_reported():
    events, problems = decode(gzip.compress(b'{"hello": 1}') + gzip.compress(b"plain") + member('{"n":1}'))
    assert [e.message for e in events] == ['{"n":1}']
    assert len(problems) == 2


def test_empty_object():
    assert decode(b"") == ([], [])


def test_members_report_their_offsets():
    a, b = member('{"n":1}'), member('{"n":2}')
    offsets = [item[0] for item in iter_members(io.BytesIO(a + b), chunk_size=5)]
    assert offsets == [0, len(a)]
