"""A JSON document whose last member is a long list, written one item at a time: `status --org
--json` never holds the whole document, or its text, in memory (benchmarks/org_scale.py measures
what it does hold). The stdlib's encoder streams a document only once the whole of it exists."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def write_document(
    out: TextIO, head: dict[str, Any], key: str, items: Sequence[T], convert: Callable[[T], Any]
) -> None:
    """`head` and then `key`, a list of each item converted as it is written, as json.dumps(indent=2)
    would write it."""
    encoder = json.JSONEncoder(indent=2)
    opening = encoder.encode({**head, key: []})  # ... "key": []\n}: the list is the last member
    out.write(opening[: opening.rindex("[]")] + "[")
    for index, item in enumerate(items):
        text = encoder.encode(convert(item)).replace("\n", "\n    ")
        out.write(f"{',' if index else ''}\n    {text}")
    out.write("\n  ]\n}\n" if items else "]\n}\n")
