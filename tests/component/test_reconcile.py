"""Reconcile against moto (with the EKS lifecycle overlay): AWS behaviour, step by step."""

import boto3
import pytest

from eks_audit.model import Action, Verdict
from eks_audit.reconcile import reconcile
from tests.conftest import REGION, create_cluster
from tests.helpers import crowd_log_group


def state(name: str):
    eks = boto3.client("eks", region_name=REGION)
    logs = boto3.client("logs", region_name=REGION)
    cluster = eks.describe_cluster(name=name)["cluster"]
    enabled = {t for e in cluster["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]}
    group = f"/aws/eks/{name}/cluster"
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    filters = {}
    if any(g["logGroupName"] == group for g in groups):
        filters = {
            f["filterName"]: f
            for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        }
    return cluster["status"], enabled, [g["logGroupName"] for g in groups], filters


def test_new_cluster_is_onboarded_filter_first_then_audit(api, settings, clock):
    create_cluster("payments", log_types=("api",))

    first = reconcile(api, settings, "payments", REGION)
    assert first.verdict is Verdict.PENDING
    assert first.actions == (Action.CREATE_LOG_GROUP, Action.PUT_FILTER)
    assert first.requeue_after == settings.expected_creating_seconds  # the first look, once it is that old
    status, enabled, groups, filters = state("payments")
    assert status == "CREATING"
    assert enabled == {"api"}  # audit waits for ACTIVE ...
    assert groups == ["/aws/eks/payments/cluster"]  # ... but the filter is already in place
    assert filters["eks-audit"]["destinationArn"] == settings.firehose_arn
    assert filters["eks-audit"]["filterPattern"] == settings.filter_pattern
    assert filters["eks-audit"]["roleArn"] == settings.logs_role_arn

    assert reconcile(api, settings, "payments", REGION).verdict is Verdict.PENDING  # still creating
    clock.advance(300)

    enabling = reconcile(api, settings, "payments", REGION)
    assert enabling.verdict is Verdict.PENDING
    assert enabling.actions == (Action.ENABLE_AUDIT,)
    assert enabling.update_id
    assert enabling.requeue_after == 20

    waiting = reconcile(api, settings, "payments", REGION, update_id=enabling.update_id)
    assert waiting.verdict is Verdict.PENDING
    assert waiting.actions == ()

    clock.advance(30)
    done = reconcile(api, settings, "payments", REGION, update_id=enabling.update_id)
    assert done.verdict is Verdict.COMPLIANT
    assert state("payments")[1] == {"api", "audit"}  # other types untouched


def test_compliant_cluster_takes_no_action(api, settings, clock):
    create_cluster("steady")
    clock.advance(300)
    reconcile(api, settings, "steady", REGION)
    clock.advance(30)
    outcome = reconcile(api, settings, "steady", REGION)
    assert outcome.verdict is Verdict.COMPLIANT
    assert outcome.actions == ()


def test_drift_is_repaired_and_foreign_filters_are_untouched(api, settings, clock):
    create_cluster("drifty")
    clock.advance(300)
    reconcile(api, settings, "drifty", REGION)
    clock.advance(30)
    logs = boto3.client("logs", region_name=REGION)
    group = "/aws/eks/drifty/cluster"
    logs.delete_subscription_filter(logGroupName=group, filterName="eks-audit")
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="other-product",
        filterPattern="ERROR",
        destinationArn=settings.firehose_arn,
        roleArn=settings.logs_role_arn,
    )
    boto3.client("eks", region_name=REGION).update_cluster_config(
        name="drifty", logging={"clusterLogging": [{"types": ["audit"], "enabled": False}]}
    )
    clock.advance(30)
    assert "audit" not in state("drifty")[1]

    repaired = reconcile(api, settings, "drifty", REGION)
    assert repaired.actions == (Action.PUT_FILTER, Action.ENABLE_AUDIT)
    clock.advance(30)
    assert (
        reconcile(api, settings, "drifty", REGION, update_id=repaired.update_id).verdict is Verdict.COMPLIANT
    )
    _, enabled, _, filters = state("drifty")
    assert "audit" in enabled
    assert filters["other-product"]["filterPattern"] == "ERROR"


def test_full_log_group_is_a_conflict_and_audit_is_still_enabled(api, settings, clock):
    create_cluster("crowded")
    clock.advance(300)
    crowd_log_group(boto3.client("logs", region_name=REGION), "crowded", settings, ("datadog", "splunk"))

    outcome = reconcile(api, settings, "crowded", REGION)
    assert outcome.verdict is Verdict.CONFLICT
    assert outcome.foreign_filters == ("datadog", "splunk")
    assert "datadog" in outcome.reason
    assert outcome.actions == (Action.ENABLE_AUDIT,)
    clock.advance(30)
    _, enabled, _, filters = state("crowded")
    assert "audit" in enabled
    assert set(filters) == {"datadog", "splunk"}


def test_opted_out_cluster_is_left_alone(api, settings, clock):
    create_cluster("sandbox", tags={"eks-audit:skip": "true"})
    clock.advance(300)
    outcome = reconcile(api, settings, "sandbox", REGION)
    assert outcome.verdict is Verdict.SKIPPED
    _, enabled, groups, _ = state("sandbox")
    assert enabled == set() and groups == []


def test_missing_cluster_is_gone(api, settings):
    outcome = reconcile(api, settings, "never-was", REGION)
    assert outcome.verdict is Verdict.GONE
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []


def test_dry_run_changes_nothing(api, settings, clock):
    create_cluster("preview")
    clock.advance(300)
    outcome = reconcile(api, settings, "preview", REGION, dry_run=True)
    assert outcome.dry_run
    assert outcome.verdict is Verdict.DRIFTED
    assert outcome.actions == (Action.CREATE_LOG_GROUP, Action.PUT_FILTER, Action.ENABLE_AUDIT)
    _, enabled, groups, _ = state("preview")
    assert enabled == set() and groups == []


def test_retention_is_set_only_on_groups_the_controller_creates(api, settings, clock):
    from dataclasses import replace

    with_retention = replace(settings, log_retention_days=30)
    create_cluster("fresh")
    create_cluster("preexisting")
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/eks/preexisting/cluster")
    reconcile(api, with_retention, "fresh", REGION)
    reconcile(api, with_retention, "preexisting", REGION)
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    assert groups["/aws/eks/fresh/cluster"]["retentionInDays"] == 30
    assert "retentionInDays" not in groups["/aws/eks/preexisting/cluster"]


@pytest.mark.parametrize("excluded", [{"exclude_clusters": "scratch-.*"}, {"include_clusters": "prod-.*"}])
def test_name_out_of_scope_is_skipped_without_a_call(settings, excluded):
    from dataclasses import replace

    from eks_audit.aws import ClusterApi

    class NoCalls:
        def __getattr__(self, name):
            raise AssertionError(f"unexpected AWS call {name}")

    outcome = reconcile(ClusterApi(NoCalls(), NoCalls()), replace(settings, **excluded), "scratch-1", REGION)
    assert outcome.verdict is Verdict.SKIPPED
