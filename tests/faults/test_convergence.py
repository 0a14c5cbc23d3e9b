"""Fault injection: EKS and CloudWatch Logs fail at random (throttling, server errors,
ResourceInUse, a transient AccessDenied, a cluster deleted mid-reconcile, LimitExceeded), and
events arrive duplicated, reordered and late. After each run the invariant is checked: every
in-scope cluster ends compliant or in an explicitly reported state, no foreign filter was modified,
no message was retried forever, and nothing was silently dropped."""

import copy
import json
import random
from dataclasses import dataclass

import pytest

from eks_audit.aws import ClusterApi
from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.model import Verdict
from eks_audit.reconcile import reconcile
from eks_audit.settings import Settings
from eks_audit.worker import Worker
from eks_audit_local.emulated import EmulatedAws, random_faults
from tests.conftest import load_handler
from tests.faults.sqs_sim import SimulatedQueue
from tests.helpers import sample

REGION = "us-east-1"
SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit",
    logs_role_arn="arn:aws:iam::123456789012:role/logs",
    wait_creating_seconds=3,
    wait_updating_seconds=1,
    reconcile_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/reconcile",
)
FOREIGN = {
    "filterPattern": "ERROR",
    "destinationArn": "arn:aws:lambda:us-east-1:123456789012:function:vendor",
    "roleArn": None,
}


@dataclass
class Context:
    function_name: str = "reconciler"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reconciler"
    aws_request_id: str = "r"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def cloudtrail(name: str) -> dict:
    event = copy.deepcopy(sample("eks-create-cluster"))
    event["detail"]["requestParameters"]["name"] = name
    return event


@pytest.fixture
def reconciler(monkeypatch, request):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"faults-{request.node.name}")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EksAudit")
    return load_handler("reconciler")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_converges_under_faults(seed, reconciler, monkeypatch):
    rng = random.Random(seed)
    rates = {"throttle": 0.15, "server": 0.08, "in_use": 0.3, "access_denied": 0.03}
    deleted_mid_reconcile = {"doomed-0"}

    faults = random_faults(rng, rates)
    injected = []

    def hook(region, api, params):
        if api == "eks:UpdateClusterConfig" and params.get("name") in deleted_mid_reconcile:
            aws.region(region).clusters.pop(params["name"], None)  # deleted between observe and apply
        racy_group = "/aws/eks/racy/cluster"
        if api == "logs:PutSubscriptionFilter" and params["logGroupName"] == racy_group:
            group = aws.region(region).groups[racy_group]
            for name in ("x", "y"):  # another product fills the group between our observe and our put
                group.setdefault(name, {"filterName": name, "logGroupName": racy_group, **FOREIGN})
        try:
            faults(region, api, params)
        except Exception as exc:
            injected.append(exc.response["Error"]["Code"])
            raise

    aws = EmulatedAws({}, fault=hook)
    names = [f"c-{i:02d}" for i in range(20)]
    for name in names:
        aws.add_cluster(REGION, name, status=rng.choice(["ACTIVE", "ACTIVE", "CREATING"]))
    aws.add_cluster(REGION, "opted-out", tags={"eks-audit:skip": "true"})
    aws.add_cluster(REGION, "doomed-0")
    aws.add_cluster(REGION, "racy")
    aws.add_cluster(REGION, "crowded")
    aws.region(REGION).groups["/aws/eks/crowded/cluster"] = {
        name: {"filterName": name, "logGroupName": "/aws/eks/crowded/cluster", **FOREIGN}
        for name in ("a", "b")
    }
    foreign_before = json.dumps(aws.region(REGION).groups["/aws/eks/crowded/cluster"], sort_keys=True)

    queue = SimulatedQueue(rng, max_receive_count=6)
    worker = Worker(
        SETTINGS,
        api_for_region=lambda r: ClusterApi(aws.eks(r), aws.logs(r)),
        sqs=queue,
        jitter=lambda s: rng.randint(0, 1),
    )
    monkeypatch.setattr(reconciler, "worker", lambda: worker)

    events = [cloudtrail(n) for n in [*names, "opted-out", "doomed-0", "crowded", "racy"]]
    events += [cloudtrail(rng.choice(names)) for _ in range(10)]  # duplicates
    rng.shuffle(events)  # reordered
    late = events[-5:]  # late: arrive after the run is under way
    for event in events[:-5]:
        queue.put(json.dumps(event), delay=rng.randint(0, 3))

    for tick in range(400):
        queue.tick = tick
        if tick == 20:
            for event in late:
                queue.put(json.dumps(event))
        if tick == 6:
            for cluster in aws.region(REGION).clusters.values():
                if cluster.status == "CREATING":
                    cluster.status = "ACTIVE"
        queue.deliver(reconciler.handler, Context())
        if not queue.pending:
            break

    assert {"ThrottlingException", "ServiceUnavailableException", "ResourceInUseException"} <= set(injected)
    # no message is retried forever: the queue drained (processed or dead-lettered)
    assert not queue.pending, f"messages still pending after the run: {len(queue.pending)}"
    # nothing silently dropped: every message sent was processed or is in the DLQ
    assert len(queue.processed) + len(queue.dead) == queue.sent
    # dead-lettered messages are the transient-AccessDenied ones, each with a logged reason (counted by the
    # handler); their clusters are then repaired by the sweep, played here by one more pass without faults
    aws.fault = None
    api = ClusterApi(aws.eks(REGION), aws.logs(REGION))
    for message in queue.dead:
        request = json.loads(message.body)
        name = request.get("cluster") or request["detail"]["requestParameters"]["name"]
        for _ in range(3):
            if reconcile(api, SETTINGS, name, REGION).requeue_after is None:
                break

    verdicts = {}
    for name in [*names, "opted-out", "doomed-0", "crowded", "racy"]:
        outcome = reconcile(api, SETTINGS, name, REGION, dry_run=True)
        verdicts[name] = outcome.verdict
    allowed = {Verdict.COMPLIANT, Verdict.CONFLICT, Verdict.SKIPPED, Verdict.GONE}
    assert {name: v for name, v in verdicts.items() if v not in allowed} == {}
    assert all(verdicts[name] is Verdict.COMPLIANT for name in names)
    assert verdicts["opted-out"] is Verdict.SKIPPED
    assert verdicts["crowded"] is Verdict.CONFLICT
    assert verdicts["racy"] is Verdict.CONFLICT  # LimitExceededException at put time
    assert set(aws.region(REGION).groups["/aws/eks/racy/cluster"]) == {"x", "y"}
    assert verdicts["doomed-0"] is Verdict.GONE
    # no foreign filter was modified
    assert json.dumps(aws.region(REGION).groups["/aws/eks/crowded/cluster"], sort_keys=True) == foreign_before
    # the opted-out cluster was never touched
    assert "/aws/eks/opted-out/cluster" not in aws.region(REGION).groups
    # every filter we put is ours and as configured
    for group, filters in aws.region(REGION).groups.items():
        if group not in ("/aws/eks/crowded/cluster", "/aws/eks/racy/cluster"):
            assert list(filters) == ["eks-audit"]
            assert filters["eks-audit"]["filterPattern"] == STANDARD_FILTER_PATTERN
