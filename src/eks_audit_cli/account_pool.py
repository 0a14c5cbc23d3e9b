"""Accounts read side by side (`status --org`), as many at once as keep this process's CPU busy.

Each account is read through its own role, against its own quotas: accounts never compete for a
quota. An account's read mostly waits for AWS, so reading several at once hides that waiting;
what then limits the read is this process's CPU (botocore's clients and calls are Python, and
Python runs one thread's code at a time). How many accounts at once that takes depends on how far
AWS is and how fast this machine is, so it is measured while reading, not fixed: start with a few,
and read as many at once as keep the process's CPU busy: fewer leave it idle while AWS answers,
more only wait for the interpreter and hold more clients in memory (benchmarks/org_scale.py,
docs/scale.md: the measurement behind this, and fixed numbers against it).

Written here: concurrent.futures has no pool whose size follows a measurement.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

START = 2  # accounts at once before anything is measured
MOST = 32  # never more: each account in flight holds its clients (about 2 MB)
TARGET = 0.9  # of one CPU: busy, with a margin for the main thread and the answers' bursts


def next_concurrency(current: int, cpu_s: float, wall_s: float, most: int = MOST) -> int:
    """From the process's CPU seconds over the wall seconds of the last window (its share of one
    CPU): as many accounts at once as would keep it at TARGET, the reads' waiting hiding each
    other's CPU. At most doubled or cut by a quarter per window, so that one noisy window does not
    swing it (pure)."""
    if wall_s <= 0:
        return current
    wanted = current * TARGET / max(cpu_s / wall_s, 0.05)
    return max(1, min(most, round(min(current * 2, max(current * 0.75, wanted)))))


@dataclass
class Reading:
    """What the pool saw: accounts read, and the concurrency it settled on."""

    accounts: int = 0
    concurrency: int = START
    history: list[int] = field(default_factory=list)  # the concurrency after each window


def read_all(
    read: Callable[[T], None],
    items: Iterable[T],
    on_window: Callable[[int, int], None] = lambda done, concurrency: None,
    start: int | None = None,
    most: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> Reading:
    """`read` each item, `concurrency` at a time; after each window (as many reads done as were
    in flight) the concurrency is judged again and `on_window(done, concurrency)` is told. Each
    read runs in a copy of the caller's context, as it would have in the caller's thread."""
    most = MOST if most is None else most
    pending = list(items)
    pending.reverse()
    reading = Reading(concurrency=min(START if start is None else start, most))
    in_flight: set[Future] = set()
    window_done, window_wall, window_cpu = 0, clock(), cpu_clock()
    with ThreadPoolExecutor(max_workers=most) as pool:
        while pending or in_flight:
            while pending and len(in_flight) < reading.concurrency:
                in_flight.add(pool.submit(contextvars.copy_context().run, read, pending.pop()))
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a read's own failures are its account's problems; anything else ends here
            reading.accounts += len(done)
            window_done += len(done)
            if window_done >= reading.concurrency or not (pending or in_flight):
                now, cpu = clock(), cpu_clock()
                reading.concurrency = next_concurrency(
                    reading.concurrency, cpu - window_cpu, now - window_wall, most
                )
                reading.history.append(reading.concurrency)
                window_done, window_wall, window_cpu = 0, now, cpu
                on_window(reading.accounts, reading.concurrency)
    return reading
