"""What one look at a cluster reads: a follow-up of our own logging update spares the filters'
read (the scarcest quota) only when it cannot lead to enabling anything."""

import pytest

from eks_audit.observe import observe


class CountingApi:
    def __init__(self, update_status: str, log_types: tuple[str, ...]):
        self.update_status, self.log_types = update_status, log_types
        self.calls: list[str] = []

    def describe_cluster(self, cluster):
        self.calls.append("DescribeCluster")
        return {
            "status": "ACTIVE",
            "logging": {"clusterLogging": [{"types": list(self.log_types), "enabled": True}]},
        }

    def describe_update(self, cluster, update_id):
        self.calls.append("DescribeUpdate")
        return {"id": update_id, "status": self.update_status}

    def subscription_filters(self, cluster):
        self.calls.append("DescribeSubscriptionFilters")
        return []


@pytest.mark.parametrize(
    ("update_status", "log_types", "looks_at_filters"),
    [
        ("InProgress", ("api",), False),  # still running: nothing is enabled this step
        ("Successful", ("audit",), False),  # done and audit is on
        ("Successful", ("api",), True),  # done yet audit is off (someone switched it off): look first
        ("Failed", ("api",), True),
        ("Cancelled", ("api",), True),
    ],
)
def test_a_follow_up_reads_the_filters_only_when_it_may_act(update_status, log_types, looks_at_filters):
    api = CountingApi(update_status, log_types)
    found = observe(api, "payments", "us-east-1", update_id="u-1", filter_in_place=True)
    assert ("DescribeSubscriptionFilters" in api.calls) is looks_at_filters
    assert found.filters_observed is looks_at_filters


def test_a_look_without_an_update_always_reads_the_filters():
    api = CountingApi("Successful", ("audit",))
    observe(api, "payments", "us-east-1")
    assert api.calls == ["DescribeCluster", "DescribeSubscriptionFilters"]


@pytest.mark.parametrize("update_status", ["InProgress", "Successful"])
def test_anyone_elses_update_gets_a_full_look(update_status):
    """An UpdateClusterConfig event carries its update's id, but not our word that our filter was
    in place: the filters are read (a conflict or a missing filter is never called compliant)."""
    api = CountingApi(update_status, ("audit",))
    found = observe(api, "payments", "us-east-1", update_id="u-9")
    assert "DescribeSubscriptionFilters" in api.calls and found.filters_observed
