"""The worker's requeue: delays within SQS's cap, chained waits, jitter, the update id carried."""

import json

import pytest

from eks_audit.intake import ReconcileRequest
from eks_audit.model import Action, Outcome, Verdict
from eks_audit.settings import Settings
from eks_audit.worker import ReconcileFailed, ResultKind, Worker, split_delay

SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
    logs_role_arn="arn:aws:iam::123456789012:role/r",
    reconcile_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
)


class FakeSqs:
    def __init__(self):
        self.sent = []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, (0, 0)), (60, (60, 0)), (900, (900, 0)), (901, (900, 1)), (4000, (900, 3100))],
)
def test_split_delay(seconds, expected):
    assert split_delay(seconds) == expected


def worker(sqs, monkeypatch, outcome: Outcome | None = None, jitter=lambda s: 0) -> Worker:
    if outcome is not None:
        monkeypatch.setattr("eks_audit.worker.reconcile", lambda *a, **k: outcome)
    return Worker(SETTINGS, api_for_region=lambda r: None, sqs=sqs, jitter=jitter)


def test_pending_outcome_is_requeued_with_the_update_id(monkeypatch):
    sqs = FakeSqs()
    outcome = Outcome("c", "us-east-1", Verdict.PENDING, "update issued", requeue_after=30, update_id="u-9")
    result = worker(sqs, monkeypatch, outcome, jitter=lambda s: 3).handle(
        ReconcileRequest("c", "us-east-1", trigger="CreateCluster")
    )
    assert result.kind is ResultKind.RECONCILED and result.requeued_after == 33
    (sent,) = sqs.sent
    assert sent["DelaySeconds"] == 33
    assert json.loads(sent["MessageBody"]) == {
        "cluster": "c",
        "region": "us-east-1",
        "trigger": "CreateCluster",
        "update_id": "u-9",
    }


def test_wait_longer_than_sqs_allows_is_chained(monkeypatch):
    sqs = FakeSqs()
    outcome = Outcome("c", "us-east-1", Verdict.PENDING, "creating", requeue_after=2000)
    w = worker(sqs, monkeypatch, outcome)
    w.handle(ReconcileRequest("c", "us-east-1"))
    assert sqs.sent[0]["DelaySeconds"] == 900
    chained = ReconcileRequest(**json.loads(sqs.sent[0]["MessageBody"]))
    assert chained.wait_seconds == 1100
    deferred = w.handle(chained)
    assert deferred.kind is ResultKind.DEFERRED
    assert sqs.sent[1]["DelaySeconds"] == 900
    assert json.loads(sqs.sent[1]["MessageBody"])["wait_seconds"] == 200


def test_default_jitter_spreads_up_to_a_tenth():
    w = Worker(SETTINGS, api_for_region=lambda r: None, sqs=FakeSqs())
    values = {w.jitter(100) for _ in range(200)}
    assert values <= set(range(11)) and len(values) > 3
    assert w.jitter(0) == 0


def test_error_outcome_raises_so_the_message_is_retried(monkeypatch):
    outcome = Outcome("c", "us-east-1", Verdict.ERROR, "AccessDeniedException: no")
    with pytest.raises(ReconcileFailed, match="AccessDenied"):
        worker(FakeSqs(), monkeypatch, outcome).handle(ReconcileRequest("c", "us-east-1"))


def test_compliant_is_not_requeued_and_counts_as_nothing_changed(monkeypatch):
    sqs = FakeSqs()
    outcome = Outcome("c", "us-east-1", Verdict.COMPLIANT, "ok")
    result = worker(sqs, monkeypatch, outcome).handle(ReconcileRequest("c", "us-east-1"))
    assert sqs.sent == [] and not result.changed and not result.onboarded


def test_refused_by_aws_is_not_retried(monkeypatch):
    """AWS's answer to a bad setting will not change by itself: the message is done, not dead-lettered."""
    sqs = FakeSqs()
    outcome = Outcome("c", "us-east-1", Verdict.ERROR, "CloudWatch Logs refused ...", permanent=True)
    result = worker(sqs, monkeypatch, outcome).handle(ReconcileRequest("c", "us-east-1"))
    assert result.outcome.permanent and sqs.sent == []


@pytest.mark.parametrize(
    ("verdict", "actions", "vouched"),
    [
        (Verdict.PENDING, (Action.PUT_FILTER, Action.ENABLE_AUDIT), True),  # our filter, then our update
        (Verdict.PENDING, (Action.ENABLE_AUDIT,), True),  # the filter was already ours and right
        (Verdict.CONFLICT, (Action.ENABLE_AUDIT,), False),  # audit enabled all the same, no filter of ours
        (Verdict.PENDING, (), False),  # only waiting (CREATING): nothing issued
    ],
)
def test_a_follow_up_vouches_for_the_filter_only_after_our_own_update_with_it_in_place(
    monkeypatch, verdict, actions, vouched
):
    sqs = FakeSqs()
    outcome = Outcome("c", "us-east-1", verdict, "r", actions=actions, requeue_after=30, update_id="u-1")
    worker(sqs, monkeypatch, outcome, jitter=lambda s: 0).handle(ReconcileRequest("c", "us-east-1"))
    (sent,) = sqs.sent
    assert json.loads(sent["MessageBody"]).get("filter_in_place", False) is vouched
