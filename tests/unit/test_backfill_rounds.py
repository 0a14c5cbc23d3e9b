"""The backfill follows waiting clusters together: one wait for all of them, not one per cluster."""

from eks_audit.model import Outcome, Verdict
from eks_audit.settings import Settings
from eks_audit_cli import backfill
from eks_audit_cli.backfill import Work, run_backfill
from tests.helpers import SleepingClock

SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
    logs_role_arn="arn:aws:iam::123456789012:role/r",
)


def fake_aws(monkeypatch, clock: SleepingClock, update_takes: float):
    """Each cluster: audit logging issued at the first look; compliant once the update is done."""
    issued: dict[str, float] = {}
    looks: list[tuple[float, str, str | None]] = []

    def reconcile(api, settings, cluster, region, *, update_id=None, dry_run=False):
        looks.append((clock.now, cluster, update_id))
        if cluster not in issued:
            issued[cluster] = clock.now
            return Outcome(
                cluster, region, Verdict.PENDING, "issued", ("enable-audit-logging",), 30, update_id="u"
            )
        if clock.now - issued[cluster] < update_takes:
            return Outcome(cluster, region, Verdict.PENDING, "in progress", (), 30, update_id="u")
        return Outcome(cluster, region, Verdict.COMPLIANT, "ok")

    monkeypatch.setattr(backfill, "reconcile", reconcile)
    return looks


def test_twenty_waiting_clusters_cost_one_wait(monkeypatch):
    clock = SleepingClock()
    looks = fake_aws(monkeypatch, clock, update_takes=7)
    work = [Work("us-east-1", SETTINGS, [f"c{i:02d}" for i in range(20)])]
    results = run_backfill(
        work,
        lambda r: None,
        dry_run=False,
        deadline=900,
        concurrency=4,
        poll_interval=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert sorted(r.outcome.verdict for r in results) == [Verdict.COMPLIANT] * 20
    assert clock.now == 10  # two polls of 5 s, whatever the number of clusters (7 s update)
    assert len(looks) == 60  # each cluster: issue, one look while in progress, one when done
    assert all(update_id == "u" for _, _, update_id in looks[20:])  # follows the update it issued
    assert all(r.changed == ["enable-audit-logging"] for r in results)


def test_clusters_still_waiting_at_the_deadline_are_reported_as_they_stand(monkeypatch):
    clock = SleepingClock()
    fake_aws(monkeypatch, clock, update_takes=1000)
    work = [Work("us-east-1", SETTINGS, ["a", "b"])]
    results = run_backfill(
        work,
        lambda r: None,
        dry_run=False,
        deadline=12,
        concurrency=2,
        poll_interval=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [r.outcome.verdict for r in results] == [Verdict.PENDING, Verdict.PENDING]
    assert clock.now <= 12


def test_a_dry_run_never_waits(monkeypatch):
    clock = SleepingClock()
    fake_aws(monkeypatch, clock, update_takes=7)
    results = run_backfill(
        [Work("us-east-1", SETTINGS, ["a"])],
        lambda r: None,
        dry_run=True,
        deadline=900,
        concurrency=1,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.slept == [] and results[0].changed == []


def test_the_wait_is_said_in_words_and_ctrl_c_leaves_a_record(monkeypatch):
    """Ctrl-C during a backfill exited 130 with empty output after 24 of 30 clusters were left
    mid-update: now what was done, what is in flight in AWS and what is left are said."""
    clock = SleepingClock()
    fake_aws(monkeypatch, clock, update_takes=600)
    work = [Work("us-east-1", SETTINGS, [f"c{i:02d}" for i in range(3)])]
    said: list[str] = []
    state = backfill.Progress()

    def interrupt_on_second_wait(following):
        said.append(backfill.waiting_words(following, clock.now + 180))
        if len(said) == 2:
            raise KeyboardInterrupt

    try:
        run_backfill(
            work,
            lambda region: None,
            dry_run=False,
            deadline=10_000,
            concurrency=2,
            poll_interval=5,
            on_wait=interrupt_on_second_wait,
            progress_=state,
            clock=clock,
            sleep=clock.sleep,
        )
    except KeyboardInterrupt:
        report = backfill.interruption_report(state)
    assert said[0] == "waiting for 3 logging updates, oldest 3m00s"
    assert report == [
        "interrupted: 0 of 3 clusters done",
        "in flight: 3 logging updates issued, which go on in AWS: us-east-1/c00, us-east-1/c01, us-east-1/c02",
        "re-running eks-audit backfill is safe: it starts from what it finds in each cluster",
    ]


def test_a_record_names_the_done_and_the_clusters_not_looked_at():
    settled = backfill._Followed(Work("us-east-1", SETTINGS, ["a"]), "a", settled=True)
    untouched = backfill._Followed(Work("us-east-1", SETTINGS, ["b"]), "b")
    state = backfill.Progress(
        results=[backfill.Result(Outcome("a", "us-east-1", Verdict.COMPLIANT, "ok"))],
        following=[settled, untouched],
    )
    assert backfill.interruption_report(state)[:2] == [
        "interrupted: 1 of 2 clusters done (1 compliant)",
        "left: 1 cluster not looked at: us-east-1/b",
    ]
