"""End-to-end: the local cloud in-process, reached over HTTP like any AWS client would."""

import pytest

from eks_audit import clients
from eks_audit_local.server import LocalCloud, Timings


@pytest.fixture(autouse=True)
def _isolated_aws_environment():
    """Overrides the unit tests' fixture: here the local cloud owns the AWS_* environment."""
    yield


@pytest.fixture(scope="module")
def cloud():
    records: list[dict] = []
    clients.reset()
    local = LocalCloud(
        port=0, timings=Timings(creating=1.5, update=0.5, sweep_interval=0), on_record=records.append
    )
    local.records = records
    local.start()
    yield local
    local.stop()
    clients.reset()
