"""The local cloud's clock runs without observers: EKS's asynchronous work completes on time though
nobody calls DescribeCluster (no controller here: only this test's calls)."""

import time

import pytest

from eks_audit import clients
from eks_audit_local.server import ACCOUNT, LocalCloud, Timings

ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture(scope="module")
def cloud():
    clients.reset()
    local = LocalCloud(port=0, controller_enabled=False, timings=Timings(creating=1.0, update=1.0))
    local.start()
    yield local
    local.stop()
    clients.reset()


def moto_cluster(name: str):
    from moto.eks.models import eks_backends

    return eks_backends[ACCOUNT]["us-east-1"].clusters[name]


def test_a_cluster_becomes_active_and_a_log_type_enabled_by_hand_creates_its_group_unobserved(cloud):
    eks, logs = cloud.client("eks"), cloud.client("logs")
    eks.create_cluster(name="unwatched", roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: moto_cluster("unwatched").status == "ACTIVE", 5)  # read, not described
    eks.update_cluster_config(
        name="unwatched", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    )
    group = "/aws/eks/unwatched/cluster"
    time.sleep(cloud.timings.update + 1)  # nobody looks at the cluster meanwhile
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"], "the update did not complete"
