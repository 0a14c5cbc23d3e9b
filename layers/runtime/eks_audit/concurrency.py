"""I/O-bound work side by side (regions, clusters): threads, results in the order given. Each task
runs in a copy of the caller's context (contextvars), as it would have run in the caller's thread."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def in_parallel(function: Callable[[U], T], items: Iterable[U], workers: int = 8) -> list[T]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    contexts = [contextvars.copy_context() for _ in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(lambda context, item: context.run(function, item), contexts, items))
