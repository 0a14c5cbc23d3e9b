"""The local cloud under --faults throttle=0.3,error=0.1 still brings every new cluster to compliant."""

import pytest

from eks_audit import clients
from eks_audit_local.gateway import Faults
from eks_audit_local.server import LocalCloud, Timings


@pytest.fixture
def faulty_cloud():
    clients.reset()
    cloud = LocalCloud(
        port=0,
        faults=Faults(throttle=0.3, error=0.1, seed=42),
        timings=Timings(creating=1, update=0.5, sweep_interval=0),
    )
    cloud.start()
    yield cloud
    cloud.stop()
    clients.reset()


def test_every_new_cluster_becomes_compliant_despite_faults(faulty_cloud):
    eks, logs = faulty_cloud.client("eks"), faulty_cloud.client("logs")
    names = [f"faulty-{i}" for i in range(3)]
    for name in names:
        eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})

    def compliant(name: str) -> bool:
        config = eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
        audit = any(e["enabled"] and "audit" in e["types"] for e in config)
        found = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{name}/cluster")[
            "subscriptionFilters"
        ]
        return audit and [f["filterName"] for f in found] == ["eks-audit"]

    # every call the controller makes may be retried with the SDK's backoff: allow for it
    assert faulty_cloud.wait_until(lambda: all(compliant(n) for n in names), timeout=150)
    counts = faulty_cloud.faults.counts
    assert counts["throttle"] > 0 and counts["error"] > 0  # faults were really injected
    assert 0.2 < (counts["throttle"] + counts["error"]) / counts["calls"] < 0.6


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("throttle=2", "between 0 and 1"),
        ("bogus=0.1", "expected throttle=R,error=R"),
        ("error=x", "a number"),
    ],
)
def test_bad_fault_specs_are_named(text, problem):
    with pytest.raises(ValueError, match=problem):
        Faults.parse(text)
