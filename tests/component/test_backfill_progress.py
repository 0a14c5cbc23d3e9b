"""`eks-audit backfill` off a terminal (CI logs, pipes, here CliRunner's stderr): a progress line at
least every 30 s while it waits; on a terminal, the bar's label instead and no line."""

from eks_audit.model import Outcome, Verdict
from eks_audit_cli import backfill
from tests.component.test_cli_aws import run, stack  # noqa: F401 - `stack` is a fixture
from tests.conftest import create_cluster
from tests.helpers import SleepingClock


def slow_updates(monkeypatch, update_takes: float) -> SleepingClock:
    """Every cluster's logging update takes `update_takes` seconds of a fake clock, which the
    backfill sleeps on; its API calls are moto's."""
    time_ = SleepingClock()
    issued: dict[str, float] = {}

    def reconcile(api, settings, cluster, region, *, update_id=None, dry_run=False):
        issued.setdefault(cluster, time_.now)
        if time_.now - issued[cluster] < update_takes:
            return Outcome(cluster, region, Verdict.PENDING, "in progress", (), 300, update_id="u")
        return Outcome(cluster, region, Verdict.COMPLIANT, "ok")

    real = backfill.run_backfill
    monkeypatch.setattr(backfill, "reconcile", reconcile)
    monkeypatch.setattr(
        backfill, "run_backfill", lambda *a, **k: real(*a, **k, clock=time_, sleep=time_.sleep)
    )
    return time_


def test_off_a_terminal_a_wait_of_two_minutes_says_where_it_stands_every_30_s(stack, clock, monkeypatch):  # noqa: F811
    for name in ("a", "b"):
        create_cluster(name)
    clock.advance(300)
    time_ = slow_updates(monkeypatch, update_takes=100)
    result = run("backfill", "--poll-interval", "120")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("eks-audit backfill: ")]
    assert lines == [
        "eks-audit backfill: 0 of 2 done; waiting for 2 logging updates, oldest 0m30s",
        "eks-audit backfill: 0 of 2 done; waiting for 2 logging updates, oldest 1m00s",
        "eks-audit backfill: 0 of 2 done; waiting for 2 logging updates, oldest 1m30s",
        "eks-audit backfill: 0 of 2 done; waiting for 2 logging updates, oldest 2m00s",
    ]
    assert time_.slept == [30, 30, 30, 30] and "2 clusters, 0 changed: 2 compliant" in result.stdout


def test_on_a_terminal_the_bar_says_what_it_waits_for_and_no_line_is_printed(stack, clock, monkeypatch):  # noqa: F811
    class Bar:
        is_terminal = True
        label = "backfill"
        labels: list[str] = []  # noqa: RUF012 - one test

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def __setattr__(self, name, value):
            type(self).labels.append(value)

        def update(self, steps):
            pass

    create_cluster("a")
    clock.advance(300)
    time_ = slow_updates(monkeypatch, update_takes=100)
    monkeypatch.setattr(backfill, "progress", lambda total, label: Bar())
    result = run("backfill", "--poll-interval", "120")
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stderr.splitlines() if line.startswith("eks-audit backfill: ")]
    assert time_.slept == [120]  # one sleep, as before
    assert Bar.labels[0].startswith("waiting for 1 logging update, oldest ")
