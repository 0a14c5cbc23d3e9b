"""The EventBridge rules as template.yaml states them, routed by moto to an SQS target."""

import json

import boto3
import pytest

from eks_audit_local.template import load_template, resources_of_type
from tests.conftest import REGION
from tests.helpers import sample

RULES = resources_of_type(load_template(), "AWS::Events::Rule")


@pytest.fixture
def routed(aws):
    """Each rule of the template on moto's default bus, targeting one queue."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    for name, rule in RULES.items():
        events.put_rule(Name=name, EventPattern=json.dumps(rule["Properties"]["EventPattern"]))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])

    def deliver(event: dict) -> bool:
        """Put one event on the bus; True when a rule routed it to the queue."""
        events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return bool(messages)

    return deliver


def test_the_template_has_one_rule_per_service():
    sources = sorted(rule["Properties"]["EventPattern"]["source"][0] for rule in RULES.values())
    assert sources == ["aws.eks", "aws.logs"]


@pytest.mark.parametrize(
    "name",
    [
        "eks-create-cluster",
        "eks-create-cluster-legacy",
        "eks-update-cluster-config",
        "eks-delete-cluster",
        "eks-untag-resource",
        "logs-create-log-group",
        "logs-delete-log-group",
        "logs-put-subscription-filter",
        "logs-delete-subscription-filter",
    ],
)
def test_watched_calls_are_routed(routed, name):
    assert routed(sample(name))


def near_miss(name: str, mutate) -> dict:
    event = sample(name)
    mutate(event)
    return event


@pytest.mark.parametrize(
    "event",
    [
        sample("eks-create-cluster-failed"),
        sample("logs-create-log-group-lambda"),
        sample("logs-create-log-group-archive"),
        near_miss("eks-create-cluster", lambda e: e["detail"].update(eventName="DescribeCluster")),
        near_miss("eks-create-cluster", lambda e: e["detail"].update(eventName="CreateNodegroup")),
        near_miss("logs-create-log-group", lambda e: e["detail"].update(eventName="PutLogEvents")),
        near_miss(
            "logs-put-subscription-filter", lambda e: e["detail"].update(errorCode="LimitExceededException")
        ),
        near_miss(
            "logs-create-log-group",
            lambda e: e["detail"]["requestParameters"].update(logGroupName="/aws/eks/x/cluster/extra-suffix"),
        ),
        near_miss(
            "logs-create-log-group",
            lambda e: e["detail"]["requestParameters"].update(logGroupName="/aws/eks"),
        ),
        near_miss(
            "eks-create-cluster", lambda e: e.update({"detail-type": "AWS Service Event via CloudTrail"})
        ),
        near_miss("eks-create-cluster", lambda e: e["detail"].update(eventSource="ecs.amazonaws.com")),
    ],
    ids=lambda e: f"{e['detail'].get('eventName')}-{json.dumps(e['detail'].get('requestParameters'))[:40]}",
)
def test_near_misses_are_not_routed(routed, event):
    assert not routed(event)
