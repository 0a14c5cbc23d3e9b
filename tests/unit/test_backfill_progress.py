"""Off a terminal (CI logs, pipes) the backfill says where it stands at least every 30 s: during a
wait of up to --poll-interval (300 s) and during a round of paced calls where nothing settles yet,
both of which printed nothing."""

import math

from eks_audit.model import Outcome, Verdict
from eks_audit.settings import Settings
from eks_audit_cli import backfill
from eks_audit_cli.backfill import Work, run_backfill
from tests.helpers import SleepingClock

SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
    logs_role_arn="arn:aws:iam::123456789012:role/r",
)


def fake_aws(monkeypatch, clock: SleepingClock, *, update_takes: float, look_takes: float, wait: float):
    """Each cluster: audit logging issued at the first look, compliant once the update is done; a
    look costs `look_takes` seconds (its paced calls); a pending cluster asks to wait `wait` s."""
    issued: dict[str, float] = {}
    looked_at: list[float] = []

    def reconcile(api, settings, cluster, region, *, update_id=None, dry_run=False):
        looked_at.append(clock.now)
        issued.setdefault(cluster, clock.now)
        clock.now += look_takes  # the rate limiter's pacing, not a wait of the backfill's
        if clock.now - issued[cluster] < update_takes:
            return Outcome(cluster, region, Verdict.PENDING, "in progress", (), wait, update_id="u")
        return Outcome(cluster, region, Verdict.COMPLIANT, "ok")

    monkeypatch.setattr(backfill, "reconcile", reconcile)
    return looked_at


def backfill_of(clusters: list[str], clock: SleepingClock, **options):
    lines: list[tuple[float, str]] = []
    results = run_backfill(
        [Work("us-east-1", SETTINGS, clusters)],
        lambda region: None,
        dry_run=False,
        on_progress=lambda state, now: lines.append((now, backfill.progress_words(state, now))),
        clock=clock,
        sleep=clock.sleep,
        **options,
    )
    return results, lines


def test_a_wait_of_300_s_is_slept_in_slices_with_a_line_every_30_s(monkeypatch):
    clock = SleepingClock()
    looked_at = fake_aws(monkeypatch, clock, update_takes=400, look_takes=0, wait=300)
    results, lines = backfill_of(
        ["a", "b", "c"], clock, deadline=10_000, concurrency=3, poll_interval=300, every=30
    )
    assert [r.outcome.verdict for r in results] == [Verdict.COMPLIANT] * 3
    assert looked_at == [0, 0, 0, 300, 300, 300, 600, 600, 600]  # as often as without the lines
    assert max(clock.slept) == 30
    assert [when for when, _ in lines] == [30 * n for n in range(1, 21)]  # 30 s, 60 s, ... 600 s
    assert lines[0] == (30, "0 of 3 done; waiting for 3 logging updates, oldest 0m30s")
    assert lines[9] == (300, "0 of 3 done; waiting for 3 logging updates, oldest 5m00s")
    assert lines[-1] == (600, "0 of 3 done; waiting for 3 logging updates, oldest 10m00s")


def test_a_round_of_paced_calls_where_nothing_settles_is_reported_too(monkeypatch):
    clock = SleepingClock()
    fake_aws(monkeypatch, clock, update_takes=1000, look_takes=20, wait=30)
    results, lines = backfill_of(
        [f"c{i}" for i in range(5)], clock, deadline=45, concurrency=1, poll_interval=30, every=30
    )
    assert [r.outcome.verdict for r in results] == [Verdict.PENDING] * 5  # past the deadline
    assert lines == [
        (40, "0 of 5 done; 3 not looked at yet; waiting for 2 logging updates, oldest 0m20s"),
        (80, "0 of 5 done; 1 not looked at yet; waiting for 4 logging updates, oldest 1m00s"),
    ]


def test_on_a_terminal_a_wait_is_one_sleep_and_no_line(monkeypatch):
    """The bar's label says what it waits for there (on_wait); no line interleaves with the bar."""
    clock = SleepingClock()
    fake_aws(monkeypatch, clock, update_takes=400, look_takes=0, wait=300)
    waits: list[float] = []
    _, lines = backfill_of(
        ["a", "b"],
        clock,
        deadline=10_000,
        concurrency=2,
        poll_interval=300,
        every=math.inf,
        on_wait=lambda following: waits.append(clock.now),
    )
    assert clock.slept == [300, 300] and waits == [0, 300] and lines == []


def test_the_line_says_what_is_done_and_what_is_left():
    done = backfill._Followed(Work("us-east-1", SETTINGS, ["a"]), "a", settled=True)
    done.outcome = Outcome("a", "us-east-1", Verdict.COMPLIANT, "ok")
    creating = backfill._Followed(Work("us-east-1", SETTINGS, ["b"]), "b", waiting_since=10)
    creating.outcome = Outcome("b", "us-east-1", Verdict.PENDING, "CREATING", (), 30)
    untouched = backfill._Followed(Work("us-east-1", SETTINGS, ["c"]), "c")
    state = backfill.Progress(results=[backfill.Result(done.outcome)], following=[done, creating, untouched])
    assert backfill.progress_words(state, now=75) == (
        "1 of 3 done; 1 not looked at yet; waiting for 1 cluster to become ACTIVE, oldest 1m05s"
    )
    state.following = [done]
    assert backfill.progress_words(state, now=75) == "1 of 1 done"


def test_a_wait_sleeps_until_the_clusters_or_the_next_line_whichever_comes_first():
    assert backfill.pause(now=100, wake_at=400, line_at=130) == 30
    assert backfill.pause(now=100, wake_at=110, line_at=130) == 10
    assert backfill.pause(now=100, wake_at=400, line_at=math.inf) == 300  # on a terminal
    assert backfill.pause(now=100, wake_at=90, line_at=130) == 0
