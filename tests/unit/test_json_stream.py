"""status --org --json, written an account at a time, is the document json.dumps would write."""

from __future__ import annotations

import io
import json

import pytest

from eks_audit_cli.json_stream import write_document


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_streamed_document_is_the_one_json_dumps_writes(count):
    head = {
        "ok": False,
        "delivery": {"received": 5, "forwarded": 4},
        "aws_features": [],
        "note": "a [] inside",
    }
    items = [
        {"account": f"{i:012d}", "clusters": [{"cluster": "c", "verdict": "compliant"}] * i}
        for i in range(count)
    ]
    converted: list[int] = []

    def convert(item: dict) -> dict:
        converted.append(1)
        return item

    out = io.StringIO()
    write_document(out, head, "accounts", items, convert)
    assert out.getvalue() == json.dumps({**head, "accounts": items}, indent=2) + "\n"
    assert len(converted) == count  # each item converted once, as it is written
