"""How many accounts `status --org` reads at once: as many as keep the process's CPU busy."""

from __future__ import annotations

import contextvars
import threading

import pytest

from eks_audit_cli import account_pool
from eks_audit_cli.account_pool import MOST, TARGET, next_concurrency, read_all


def test_an_idle_cpu_asks_for_more_accounts_at_once_at_most_twice_as_many():
    # 4 at once kept the CPU busy 10% of the time: 36 would reach TARGET, doubling is the most per window
    assert next_concurrency(4, cpu_s=1.0, wall_s=10.0) == 8
    # 30% busy: 4 * 0.9 / 0.3 = 12, more than double: 8
    assert next_concurrency(4, cpu_s=3.0, wall_s=10.0) == 8
    # 60% busy: 4 * 0.9 / 0.6 = 6
    assert next_concurrency(4, cpu_s=6.0, wall_s=10.0) == 6


def test_a_busy_cpu_holds_and_a_saturated_one_sheds_at_most_a_quarter():
    assert next_concurrency(8, cpu_s=TARGET * 10, wall_s=10.0) == 8
    # all of one CPU: 8 * 0.9 = 7.2
    assert next_concurrency(8, cpu_s=10.0, wall_s=10.0) == 7
    # more than one CPU's worth (code outside the interpreter lock): never below three quarters
    assert next_concurrency(8, cpu_s=40.0, wall_s=10.0) == 6


def test_the_concurrency_stays_within_one_and_most():
    assert next_concurrency(1, cpu_s=20.0, wall_s=10.0) == 1
    assert next_concurrency(MOST, cpu_s=0.0, wall_s=10.0) == MOST
    assert next_concurrency(3, cpu_s=1.0, wall_s=0.0) == 3  # nothing measured: unchanged


class FakeClocks:
    """Each read takes `wall` seconds and `cpu` of CPU on clocks the test moves by hand."""

    def __init__(self, wall: float, cpu: float):
        self.wall_per_read, self.cpu_per_read = wall, cpu
        self.now = self.cpu = 0.0
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def read(self, item: int) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        with self.lock:
            self.now += self.wall_per_read / max(1, self.in_flight)  # reads side by side share the wall
            self.cpu += self.cpu_per_read
            self.in_flight -= 1


def test_every_item_is_read_once_and_the_concurrency_follows_the_cpu():
    clocks = FakeClocks(wall=1.0, cpu=0.1)  # mostly waiting: worth more at once
    read: list[int] = []
    windows: list[tuple[int, int]] = []

    def one(item: int) -> None:
        clocks.read(item)
        with clocks.lock:
            read.append(item)

    reading = read_all(
        one,
        range(200),
        lambda done, at_once: windows.append((done, at_once)),
        clock=lambda: clocks.now,
        cpu_clock=lambda: clocks.cpu,
    )
    assert sorted(read) == list(range(200))
    assert reading.accounts == 200 and windows[-1][0] == 200
    assert reading.history[0] > account_pool.START  # grew from the first window
    assert max(reading.history) <= MOST


def test_a_read_that_raises_ends_the_whole_read():
    def one(item: int) -> None:
        if item == 3:
            raise RuntimeError("no credentials")

    with pytest.raises(RuntimeError, match="no credentials"):
        read_all(one, range(10))


def test_each_read_runs_in_a_copy_of_the_callers_context():
    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")
    variable.set("caller's")
    seen: list[str] = []
    read_all(lambda item: seen.append(variable.get()), range(5))
    assert seen == ["caller's"] * 5
