"""The EventBridge rules as template.yaml states them, routed by moto to an SQS target."""

import copy
import json
from pathlib import Path

import boto3
import pytest

from eks_audit_local.template import Context, load_template, resources_of_type
from tests.conftest import REGION
from tests.helpers import sample

TEMPLATE = load_template()
RULES = resources_of_type(TEMPLATE, "AWS::Events::Rule")
CONTROLLER = "arn:aws:iam::123456789012:role/eks-audit-1a2b3c4d-reconciler"
DEPLOYED = Context(TEMPLATE, attributes={("ReconcilerFunctionRole", "Arn"): CONTROLLER})


def pattern(rule: dict) -> str:
    """The rule's pattern as CloudFormation hands it to EventBridge (intrinsics resolved)."""
    return json.dumps(DEPLOYED.resolve(rule["Properties"]["EventPattern"]))


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
        events.put_rule(Name=name, EventPattern=pattern(rule))
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


# Real CloudTrail records of each identity type (events/cloudtrail/SOURCES.md says where each is from)
RECORDS = sorted((Path(__file__).parents[2] / "events" / "cloudtrail").glob("*.json"))


def with_identity(name: str, identity: dict) -> dict:
    event = sample(name)
    event["detail"]["userIdentity"] = copy.deepcopy(identity)
    return event


def test_there_is_a_real_record_of_every_identity_type():
    types = {json.loads(path.read_text())["userIdentity"]["type"] for path in RECORDS}
    assert {"IAMUser", "Root", "AssumedRole", "AWSService"} <= types
    issuers = [
        json.loads(p.read_text())["userIdentity"].get("sessionContext", {}).get("sessionIssuer")
        for p in RECORDS
    ]
    assert {} in issuers and None in issuers  # both shapes of "no session issuer" are tried


@pytest.mark.parametrize("path", RECORDS, ids=lambda path: path.stem)
@pytest.mark.parametrize("call", ["eks-create-cluster", "logs-delete-subscription-filter"])
def test_a_watched_call_by_anyone_but_the_controller_is_routed(routed, path, call):
    identity = json.loads(path.read_text())["userIdentity"]
    assert routed(with_identity(call, identity))


@pytest.mark.parametrize("name", ["IAMUser-CreateCluster", "IAMUser-DeleteLogGroup"])
def test_real_records_of_watched_calls_are_routed_as_published(routed, name):
    detail = json.loads((RECORDS[0].parent / f"{name}.json").read_text())
    source = "aws." + detail["eventSource"].split(".")[0]
    if "logGroupName" in detail["requestParameters"]:  # the published one is not a cluster's
        detail["requestParameters"]["logGroupName"] = "/aws/eks/payments/cluster"
    event = {"source": source, "detail-type": "AWS API Call via CloudTrail", "detail": detail}
    assert routed(event)


@pytest.mark.parametrize(
    "call",
    [
        "eks-update-cluster-config",
        "logs-create-log-group",
        "logs-put-subscription-filter",
        "logs-delete-subscription-filter",
    ],
)
def test_the_controllers_own_calls_are_not_routed(routed, call):
    """Its role's session, as CloudTrail records a Lambda function's calls (the AssumedRole record)."""
    identity = json.loads((RECORDS[0].parent / "AssumedRole-CreateLogStream.json").read_text())[
        "userIdentity"
    ]
    identity["sessionContext"]["sessionIssuer"]["arn"] = CONTROLLER
    assert not routed(with_identity(call, identity))
    identity["sessionContext"]["sessionIssuer"]["arn"] = CONTROLLER.replace("reconciler", "platform-admin")
    assert routed(with_identity(call, identity))
