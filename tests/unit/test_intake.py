"""Intake over real-shaped CloudTrail events, failed calls, look-alike log groups, bad input."""

import copy
import json

import pytest

from eks_audit.intake import Ignore, MalformedMessage, ReconcileRequest, parse_message
from tests.helpers import sample


@pytest.mark.parametrize(
    ("event", "cluster", "trigger"),
    [
        ("eks-create-cluster", "payments-prod", "CreateCluster"),
        ("eks-create-cluster-legacy", "legacy-ci", "CreateCluster"),
        ("eks-update-cluster-config", "payments-prod", "UpdateClusterConfig"),
        ("eks-delete-cluster", "payments-prod", "DeleteCluster"),
        ("logs-create-log-group", "payments-prod", "CreateLogGroup"),
        ("logs-delete-log-group", "payments-prod", "DeleteLogGroup"),
        ("logs-put-subscription-filter", "payments-prod", "PutSubscriptionFilter"),
        ("logs-delete-subscription-filter", "payments-prod", "DeleteSubscriptionFilter"),
    ],
)
def test_watched_calls_name_the_cluster(event, cluster, trigger):
    decision = parse_message(sample(event))
    assert decision == ReconcileRequest(
        cluster=cluster,
        region="us-east-1",
        account="123456789012",
        trigger=trigger,
        update_id="7d2b7f7e-3c4a-4f0e-9d1b-2a3b4c5d6e7f" if trigger == "UpdateClusterConfig" else None,
    )


def test_failed_call_is_ignored():
    decision = parse_message(sample("eks-create-cluster-failed"))
    assert isinstance(decision, Ignore)
    assert "ResourceInUseException" in decision.reason


@pytest.mark.parametrize(
    "group",
    [
        "/aws/lambda/payments-api",
        "/aws/eks/payments-prod/cluster-archive",
        "/aws/eks/payments-prod/cluster/extra",
        "/aws/eks//cluster",
        "aws/eks/payments-prod/cluster",
        "/aws/eks/payments-prod/Cluster",
    ],
)
def test_look_alike_log_groups_are_ignored(group):
    event = sample("logs-create-log-group")
    event["detail"]["requestParameters"]["logGroupName"] = group
    assert isinstance(parse_message(event), Ignore)


def test_log_group_with_an_invalid_cluster_name_is_ignored():
    event = sample("logs-create-log-group")
    event["detail"]["requestParameters"]["logGroupName"] = "/aws/eks/bad.name!/cluster"
    decision = parse_message(event)
    assert isinstance(decision, Ignore)
    assert "no valid EKS cluster" in decision.reason


def test_log_group_arn_identifier_is_accepted():
    event = sample("logs-delete-log-group")
    del event["detail"]["requestParameters"]["logGroupName"]
    event["detail"]["requestParameters"]["logGroupIdentifier"] = (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/payments-prod/cluster:*"
    )
    assert parse_message(event).cluster == "payments-prod"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update({"detail-type": "Scheduled Event"}), "not a CloudTrail API call"),
        (lambda e: e.update({"source": "aws.s3"}), "not watched"),
        (lambda e: e["detail"].update({"eventSource": "s3.amazonaws.com"}), "does not belong"),
        (lambda e: e["detail"].update({"eventName": "DescribeCluster"}), "not a watched call"),
    ],
)
def test_unwatched_events_are_ignored_with_a_reason(mutate, reason):
    event = sample("eks-create-cluster")
    mutate(event)
    decision = parse_message(event)
    assert isinstance(decision, Ignore)
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e.update({"detail": "text"}), "detail"),
        (lambda e: e["detail"].pop("eventName"), "detail.eventName"),
        (lambda e: e["detail"].pop("requestParameters"), "detail.requestParameters"),
        (lambda e: e["detail"].update({"requestParameters": {}}), "detail.requestParameters.name"),
        (lambda e: e["detail"]["requestParameters"].update({"name": 42}), "detail.requestParameters.name"),
        (lambda e: e["detail"]["requestParameters"].update({"name": "a/b"}), "detail.requestParameters.name"),
        (
            lambda e: e["detail"]["requestParameters"].update({"name": "x" * 101}),
            "detail.requestParameters.name",
        ),
        (
            lambda e: e["detail"]["requestParameters"].update({"name": "ünïcode"}),
            "detail.requestParameters.name",
        ),
        (lambda e: (e["detail"].pop("awsRegion"), e.pop("region")), "detail.awsRegion"),
        (lambda e: e.update({"account": 123}), "account"),
    ],
)
def test_malformed_events_name_the_field(mutate, field):
    event = sample("eks-create-cluster")
    mutate(event)
    with pytest.raises(MalformedMessage) as caught:
        parse_message(event)
    assert caught.value.field == field


def test_malformed_logs_event_names_the_field():
    event = sample("logs-create-log-group")
    event["detail"]["requestParameters"] = {"logGroupName": ["/aws/eks/x/cluster"]}
    with pytest.raises(MalformedMessage, match="logGroupName"):
        parse_message(event)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ('"a string"', "body"),
        ("[1, 2]", "body"),
        ('{"hello": "world"}', "body"),
        ('{"cluster": "bad name"}', "cluster"),
        ('{"cluster": "ok"}', "region"),
        ('{"cluster": "ok", "region": 5}', "region"),
        ('{"cluster": "ok", "region": "r", "wait_seconds": -1}', "wait_seconds"),
        ('{"cluster": "ok", "region": "r", "update_id": 7}', "update_id"),
    ],
)
def test_malformed_bodies_name_the_field(body, field):
    with pytest.raises(MalformedMessage) as caught:
        parse_message(body)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_explicit_request_round_trips_through_a_queue_message():
    request = ReconcileRequest("c-1", "eu-west-1", "123456789012", "requeue", "u-1", 1200)
    assert parse_message(json.dumps(request.to_message())) == request
    assert parse_message(b'{"cluster": "c-1"}', default_region="eu-west-1") == ReconcileRequest(
        "c-1", "eu-west-1"
    )


def test_region_falls_back_to_the_envelope():
    event = copy.deepcopy(sample("eks-create-cluster"))
    del event["detail"]["awsRegion"]
    event["region"] = "ap-south-1"
    assert parse_message(event).region == "ap-south-1"


def test_untagging_a_cluster_names_it():
    decision = parse_message(sample("eks-untag-resource"))
    assert decision == ReconcileRequest("payments-prod", "us-east-1", "123456789012", "UntagResource")


@pytest.mark.parametrize(
    ("params", "resources", "expected"),
    [
        ({"resourceARN": "arn:aws:eks:us-east-1:123456789012:cluster/c-1", "tags": {"k": "v"}}, None, "c-1"),
        ({}, [{"ARN": "arn:aws-cn:eks:cn-north-1:123456789012:cluster/c-2"}], "c-2"),
        ({"resourceArn": "arn:aws:eks:us-east-1:123456789012:nodegroup/c-1/ng/uuid"}, None, None),
        ({"resourceArn": "arn:aws:eks:us-east-1:123456789012:cluster/bad name"}, None, None),
    ],
)
def test_tag_events_name_clusters_only(params, resources, expected):
    event = sample("eks-untag-resource")
    event["detail"]["eventName"] = "TagResource"
    event["detail"]["requestParameters"] = params
    event["resources"] = resources or []
    decision = parse_message(event)
    if expected is None:
        assert isinstance(decision, Ignore) and "not an EKS cluster" in decision.reason
    else:
        assert decision.cluster == expected and decision.trigger == "TagResource"


def test_tag_event_without_an_arn_is_malformed():
    event = sample("eks-untag-resource")
    event["detail"]["requestParameters"] = {"tagKeys": ["x"]}
    with pytest.raises(MalformedMessage) as caught:
        parse_message(event)
    assert caught.value.field == "detail.requestParameters.resourceArn"


def _as_role(event: dict, role: str) -> dict:
    event["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::123456789012:assumed-role/{role.rsplit('/', 1)[1]}/eks-audit-ReconcilerFunction",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role}},
    }
    return event


OWN = "arn:aws:iam::123456789012:role/eks-audit-ReconcilerFunctionRole-AbC123"


@pytest.mark.parametrize(
    "name", ["eks-update-cluster-config", "logs-put-subscription-filter", "logs-create-log-group"]
)
def test_the_controllers_own_calls_are_echoes(name):
    decision = parse_message(_as_role(sample(name), OWN), own_role_arn=OWN)
    assert isinstance(decision, Ignore) and "controller's own call" in decision.reason


def test_anyone_elses_call_is_not_an_echo():
    other = "arn:aws:iam::123456789012:role/platform-admin"
    assert isinstance(
        parse_message(_as_role(sample("logs-put-subscription-filter"), other), own_role_arn=OWN),
        ReconcileRequest,
    )
    assert isinstance(
        parse_message(sample("logs-put-subscription-filter"), own_role_arn=OWN), ReconcileRequest
    )  # IAM user
    assert isinstance(
        parse_message(_as_role(sample("logs-put-subscription-filter"), OWN)), ReconcileRequest
    )  # not told
