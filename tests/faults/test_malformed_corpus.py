"""A corpus of malformed and hostile messages through the reconciler's handler: each gets one clear
log line and a metric, none fails the rest of the batch, and poison messages reach the dead-letter
queue after the configured receive count."""

import copy
import json
import random

import pytest

from eks_audit.aws import ClusterApi
from eks_audit.worker import Worker
from eks_audit_local.emulated import EmulatedAws
from tests.conftest import load_handler
from tests.faults.sqs_sim import SimulatedQueue
from tests.faults.test_convergence import SETTINGS, Context
from tests.helpers import sample

REGION = "us-east-1"


def eks_event(**detail_changes) -> dict:
    event = copy.deepcopy(sample("eks-create-cluster"))
    event["detail"].update(detail_changes)
    return event


def with_name(name) -> dict:
    event = copy.deepcopy(sample("eks-create-cluster"))
    event["detail"]["requestParameters"]["name"] = name
    return event


def logs_event(group) -> dict:
    event = copy.deepcopy(sample("logs-create-log-group"))
    event["detail"]["requestParameters"]["logGroupName"] = group
    return event


# (id, body, expected): "malformed" fails and is retried to the DLQ; "ignored" succeeds with a reason
CORPUS = [
    ("truncated-json", json.dumps(sample("eks-create-cluster"))[:120], "malformed"),
    ("empty-body", "", "malformed"),
    ("whitespace", "   ", "malformed"),
    ("not-json", "hello world", "malformed"),
    ("json-array", "[1, 2, 3]", "malformed"),
    ("json-string", '"CreateCluster"', "malformed"),
    ("json-number", "42", "malformed"),
    ("json-null", "null", "malformed"),
    ("empty-object", "{}", "malformed"),
    (
        "missing-detail",
        json.dumps({k: v for k, v in sample("eks-create-cluster").items() if k != "detail"}),
        "malformed",
    ),
    ("detail-is-string", json.dumps({**sample("eks-create-cluster"), "detail": "x"}), "malformed"),
    ("detail-is-list", json.dumps({**sample("eks-create-cluster"), "detail": []}), "malformed"),
    ("event-name-missing", json.dumps(eks_event(eventName=None)), "malformed"),
    ("event-name-number", json.dumps(eks_event(eventName=7)), "malformed"),
    ("request-parameters-missing", json.dumps(eks_event(requestParameters=None)), "malformed"),
    ("request-parameters-list", json.dumps(eks_event(requestParameters=["name"])), "malformed"),
    ("name-missing", json.dumps(eks_event(requestParameters={"version": "1.31"})), "malformed"),
    ("name-number", json.dumps(with_name(12345)), "malformed"),
    ("name-with-slash", json.dumps(with_name("team/payments")), "malformed"),
    ("name-unicode", json.dumps(with_name("zahlungen-über")), "malformed"),
    ("name-200-chars", json.dumps(with_name("a" * 200)), "malformed"),
    ("name-empty", json.dumps(with_name("")), "malformed"),
    ("name-leading-hyphen", json.dumps(with_name("-payments")), "malformed"),
    ("region-missing", json.dumps({**eks_event(awsRegion=None), "region": None}), "malformed"),
    ("account-wrong-type", json.dumps({**sample("eks-create-cluster"), "account": ["123"]}), "malformed"),
    ("log-group-not-string", json.dumps(logs_event(["/aws/eks/a/cluster"])), "malformed"),
    ("request-cluster-invalid", json.dumps({"cluster": "a b", "region": REGION}), "malformed"),
    (
        "request-wait-negative",
        json.dumps({"cluster": "a", "region": REGION, "wait_seconds": -5}),
        "malformed",
    ),
    ("request-wait-bool", json.dumps({"cluster": "a", "region": REGION, "wait_seconds": True}), "malformed"),
    (
        "request-filter-in-place-string",
        json.dumps({"cluster": "a", "region": REGION, "filter_in_place": "yes"}),
        "malformed",
    ),
    ("huge-payload", json.dumps({**sample("eks-create-cluster"), "padding": "x" * 250_000}), "ignored-or-ok"),
    ("unknown-event-source", json.dumps({**sample("eks-create-cluster"), "source": "aws.s3"}), "ignored"),
    ("mismatched-event-source", json.dumps(eks_event(eventSource="s3.amazonaws.com")), "ignored"),
    ("unwatched-call", json.dumps(eks_event(eventName="DescribeCluster")), "ignored"),
    ("failed-call", json.dumps(sample("eks-create-cluster-failed")), "ignored"),
    ("scheduled-event", json.dumps(sample("scheduled")), "ignored"),
    ("log-group-invalid-cluster", json.dumps(logs_event("/aws/eks/bad name!/cluster")), "ignored"),
    ("log-group-lambda", json.dumps(logs_event("/aws/lambda/x")), "ignored"),
    ("other-region-request", json.dumps({"cluster": "a", "region": "eu-west-1"}), "ignored"),
]


@pytest.fixture
def reconciler(monkeypatch, request, capsys):  # capsys first: the Logger binds stdout at import
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"corpus-{request.node.name}")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EksAudit")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # the metrics are asserted here
    monkeypatch.setenv("AWS_REGION", REGION)
    module = load_handler("reconciler")
    # Powertools keeps metrics in a store its Metrics instances share: what an earlier test's function
    # left unflushed in this process (a local cloud's controller) would be counted here
    module.metrics.clear_metrics()
    aws = EmulatedAws({})
    aws.add_cluster(REGION, "payments-prod")
    queue = SimulatedQueue(random.Random(0), max_receive_count=3)
    worker = Worker(SETTINGS, api_for_region=lambda r: ClusterApi(aws.eks(r), aws.logs(r)), sqs=queue)
    monkeypatch.setattr(module, "worker", lambda: worker)
    return module, queue


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


def test_each_message_gets_one_clear_line_and_a_metric_and_the_batch_survives(reconciler, capsys, caplog):
    module, queue = reconciler
    valid = json.dumps(sample("eks-create-cluster"))
    for start in range(0, len(CORPUS), 9):  # batches of up to 10: nine corpus messages and one valid
        chunk = CORPUS[start : start + 9]
        for _, body, _ in chunk:
            queue.put(body)
        queue.put(valid)
        batch = queue.receive()
        by_body = {m.id: m.body for m in batch}
        response = module.handler(queue.lambda_event(batch), Context())
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        out = capsys.readouterr().out
        lines = [
            {
                "level": r.levelname,
                "message": r.getMessage(),
                "message_id": getattr(r, "message_id", None),
                "field": getattr(r, "field", None),
            }
            for r in caplog.records
            if r.name.startswith("corpus-")
        ]
        caplog.clear()
        emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
        for name, body, expected in chunk:
            (message_id,) = [mid for mid, b in by_body.items() if b == body]
            if expected == "malformed":
                assert message_id in failed, name
                mine = [line for line in lines if line.get("message_id") == message_id]
                assert len(mine) == 1, (name, mine)
                assert mine[0]["level"] == "ERROR" and mine[0]["message"].startswith("malformed message: ")
                assert mine[0]["field"], name  # the field at fault is named
            else:
                assert message_id not in failed, name
        valid_ids = [mid for mid, b in by_body.items() if b == valid]
        assert not set(valid_ids) & failed  # the valid message is never failed by its neighbours
        for metric, kind in (("Malformed", "malformed"), ("Ignored", "ignored")):
            expected_count = sum(1 for _, _, e in chunk if e == kind)
            counted = sum(
                sum(blob[metric]) if isinstance(blob.get(metric), list) else blob.get(metric, 0)
                for blob in emf
            )
            assert counted == expected_count, metric
        ignored_lines = [line for line in lines if line["message"].startswith("ignored: ")]
        assert len(ignored_lines) == sum(
            1 for _, _, e in chunk if e == "ignored"
        )  # one line each, with its reason
        for message in batch:
            if message.id not in failed:
                queue.delete(message)


def test_poison_messages_reach_the_dead_letter_queue_after_the_receive_count(reconciler, capsys):
    module, queue = reconciler
    poison = [body for _, body, expected in CORPUS if expected == "malformed"][:8]
    for body in poison:
        queue.put(body)
    for tick in range(0, 40):
        queue.tick = tick
        queue.deliver(module.handler, Context())
    capsys.readouterr()
    assert not queue.pending
    assert sorted(m.body for m in queue.dead) == sorted(poison)
    assert all(m.receive_count == 4 for m in queue.dead)  # received 3 times, dead-lettered on the 4th
