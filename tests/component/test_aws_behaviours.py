"""Behaviours AWS documents and moto 5.2.5 lacks, as the local cloud's overlays give them, and what
the controller does with them (the same overlays serve every moto-based test)."""

from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ClientError

from eks_audit.model import Verdict
from eks_audit.observe import observe
from eks_audit.plan import make_plan
from eks_audit.reconcile import reconcile
from eks_audit_cli.coverage import cluster_row
from tests.conftest import REGION, create_cluster


def logs():
    return boto3.client("logs", region_name=REGION)


def test_same_name_updates_a_full_group_in_place_and_a_new_name_is_refused(settings):
    group = "/aws/eks/c/cluster"
    logs().create_log_group(logGroupName=group)
    for name in ("ours", "theirs"):
        logs().put_subscription_filter(
            logGroupName=group, filterName=name, filterPattern="", destinationArn=settings.firehose_arn
        )
    logs().put_subscription_filter(
        logGroupName=group, filterName="ours", filterPattern="ERROR", destinationArn=settings.firehose_arn
    )
    found = {
        f["filterName"]: f["filterPattern"]
        for f in logs().describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    }
    assert found == {"ours": "ERROR", "theirs": ""}
    with pytest.raises(ClientError) as caught:
        logs().put_subscription_filter(
            logGroupName=group, filterName="third", filterPattern="", destinationArn=settings.firehose_arn
        )
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"


def test_outdated_filter_in_a_full_group_converges_and_status_agrees_with_the_controller(
    api, settings, clock
):
    create_cluster("full", log_types=("audit",))
    clock.advance(300)
    boto3.client("eks", region_name=REGION).describe_cluster(name="full")  # ACTIVE: EKS made the group
    group = "/aws/eks/full/cluster"
    logs().put_subscription_filter(
        logGroupName=group,
        filterName=settings.filter_name,
        filterPattern="an outdated pattern",
        destinationArn=settings.firehose_arn,
        roleArn=settings.logs_role_arn,
    )
    logs().put_subscription_filter(
        logGroupName=group, filterName="other-product", filterPattern="", destinationArn=settings.firehose_arn
    )

    before = cluster_row(api, settings, "full", REGION)
    planned = make_plan(observe(api, "full", REGION), settings)
    assert before.verdict == str(planned.verdict) == "drifted"
    assert before.our_filter == "differs (pattern)"

    outcome = reconcile(api, settings, "full", REGION)
    assert outcome.verdict is Verdict.COMPLIANT, outcome.reason
    after = cluster_row(api, settings, "full", REGION)
    assert after.verdict == "compliant" and after.foreign_filters == ("other-product",)


def test_enabling_a_log_type_creates_the_cluster_log_group(aws, clock):
    create_cluster("born-logging", log_types=("api",))
    create_cluster("later")
    groups = lambda: {g["logGroupName"] for g in logs().describe_log_groups()["logGroups"]}  # noqa: E731
    assert groups() == set()  # CREATING: nothing written yet
    clock.advance(300)
    boto3.client("eks", region_name=REGION).describe_cluster(name="born-logging")
    assert groups() == {"/aws/eks/born-logging/cluster"}

    eks = boto3.client("eks", region_name=REGION)
    eks.update_cluster_config(
        name="later", logging={"clusterLogging": [{"types": ["scheduler"], "enabled": True}]}
    )
    clock.advance(30)
    eks.describe_cluster(name="later")
    assert "/aws/eks/later/cluster" in groups()


def test_a_pattern_cloudwatch_refuses_is_reported_not_retried(api, settings, clock):
    create_cluster("refused")
    bad = replace(settings, filter_pattern="%something!%")  # AWS's own example of a refused regex
    outcome = reconcile(api, bad, "refused", REGION)
    assert outcome.verdict is Verdict.ERROR and outcome.permanent
    assert "CloudWatch Logs refused subscription filter 'eks-audit'" in outcome.reason
    assert "InvalidParameterException" in outcome.reason


def test_test_metric_filter_answers_with_the_evaluator(aws):
    answer = logs().test_metric_filter(
        filterPattern='{ $.verb = "delete" }', logEventMessages=['{"verb": "get"}', '{"verb": "delete"}']
    )
    assert [(m["eventNumber"], m["eventMessage"]) for m in answer["matches"]] == [(2, '{"verb": "delete"}')]
    with pytest.raises(ClientError) as caught:
        logs().test_metric_filter(filterPattern="{ $.a = }", logEventMessages=["x"])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
