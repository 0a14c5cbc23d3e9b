"""End-to-end: the local cloud in-process, reached over HTTP like any AWS client would."""

from contextlib import contextmanager

import pytest

from eks_audit import clients
from eks_audit_local.server import LocalCloud, Timings

ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture(autouse=True)
def _isolated_aws_environment():
    """Overrides the unit tests' fixture: here the local cloud owns the AWS_* environment."""
    yield


@contextmanager
def recorded_cloud(**options):
    """A started local cloud whose controller activity lands in `.records`, with fresh clients."""
    records: list[dict] = []
    clients.reset()
    options.setdefault("timings", Timings(creating=1.5, update=0.5, sweep_interval=0))
    local = LocalCloud(port=0, on_record=records.append, **options)
    local.records = records
    local.start()
    try:
        yield local
    finally:
        local.stop()
        clients.reset()


@contextmanager
def cloud_with_one_cluster(name: str = "payments"):
    """A quick local cloud (short timings) with one cluster, onboarded."""
    from tests.helpers import audit_on

    with recorded_cloud(timings=Timings(creating=0.5, update=0.3, sweep_interval=0)) as local:
        local.client("eks").create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
        assert local.wait_until(lambda: audit_on(local, "us-east-1", name), 20)
        yield local


@pytest.fixture(scope="module")
def cloud():
    with recorded_cloud() as local:
        yield local
