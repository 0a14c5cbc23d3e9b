"""A JSON document whose first member is a long list, written an item at a time as the items come
(from several threads): `status --org --json` writes each account as soon as it is read and keeps
only its tally, so memory does not grow with the clusters (benchmarks/org_scale.py measures it).
The stdlib's encoder streams a document only once the whole of it exists."""

from __future__ import annotations

import json
import threading
from typing import Any, TextIO


class Document:
    """`{"<key>": [items...], <tail>}` as json.dumps(indent=2) writes it."""

    def __init__(self, out: TextIO, key: str):
        self._out, self._encoder = out, json.JSONEncoder(indent=2)
        self._lock = threading.Lock()
        self._items = 0
        self._out.write(f"{{\n  {json.dumps(key)}: [")

    def item(self, value: Any) -> None:
        text = self._encoder.encode(value).replace("\n", "\n    ")
        with self._lock:
            self._out.write(f"{',' if self._items else ''}\n    {text}")
            self._items += 1

    def close(self, tail: dict[str, Any]) -> None:
        rest = self._encoder.encode(tail)[1:]  # the tail's members: "\n  ...\n}" (or "}" when empty)
        with self._lock:
            closing = "\n  ]" if self._items else "]"
            self._out.write(closing + ("," + rest if tail else "\n}") + "\n")
