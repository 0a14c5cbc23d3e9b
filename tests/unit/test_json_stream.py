"""status --org --json, written an account at a time, is the document json.dumps would write."""

from __future__ import annotations

import io
import json

import pytest

from eks_audit_cli.json_stream import Document


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize(
    "tail", [{}, {"ok": False, "delivery": {"received": 5, "forwarded": 4}, "aws_features": []}]
)
def test_the_streamed_document_is_the_one_json_dumps_writes(count, tail):
    items = [
        {"account": f"{i:012d}", "clusters": [{"cluster": "c", "verdict": "compliant"}] * i}
        for i in range(count)
    ]
    out = io.StringIO()
    document = Document(out, "accounts")
    for item in items:
        document.item(item)
    document.close(tail)
    assert out.getvalue() == json.dumps({"accounts": items, **tail}, indent=2) + "\n"


def test_each_item_is_written_when_it_is_given():
    out = io.StringIO()
    document = Document(out, "accounts")
    document.item({"account": "1"})
    assert out.getvalue().endswith('"account": "1"\n    }')
