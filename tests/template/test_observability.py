"""The stack alarms on what breaks delivery, to the one optional alarm topic, and ships a dashboard."""

import json

import pytest

from eks_audit_local.template import Context, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def context() -> Context:
    found = Context(
        TEMPLATE,
        {
            "ConsumerPrincipal": "111122223333",
            "ExternalId": "external-id",
            "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        },
    )
    found.refs["DeliveryStream"] = "eks-audit-stream"
    found.attributes[("ReconcileDeadLetterQueue", "QueueName")] = "eks-audit-dlq"
    return found


@pytest.mark.parametrize(
    ("alarm", "watches"),
    [
        ("DeliveryToS3FailingAlarm", "DeliveryToS3.Success"),
        ("DeliveryFreshnessAlarm", "DeliveryToS3.DataFreshness"),
        ("SubscriptionDeliveryErrorsAlarm", "DeliveryErrors"),
        ("DeadLetterAlarm", "ApproximateNumberOfMessagesVisible"),
        ("RefusedByAwsAlarm", "RefusedByAws"),
    ],
)
def test_what_breaks_delivery_alarms_to_the_one_topic(alarm, watches):
    properties = context().resolve(RESOURCES[alarm]["Properties"])
    assert properties["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
    assert watches in json.dumps(properties)
    assert properties["TreatMissingData"] == "notBreaching"  # no traffic is no failure


def test_the_stream_alarms_watch_this_stacks_stream_and_the_errors_alarm_our_filter():
    found = context()
    for alarm in ("DeliveryToS3FailingAlarm", "DeliveryFreshnessAlarm"):
        assert found.resolve(RESOURCES[alarm]["Properties"]["Dimensions"]) == [
            {"Name": "DeliveryStreamName", "Value": "eks-audit-stream"}
        ]
    (query,) = found.resolve(RESOURCES["SubscriptionDeliveryErrorsAlarm"]["Properties"]["Metrics"])
    assert "SUM(DeliveryErrors)" in query["Expression"] and "FilterName = 'eks-audit'" in query["Expression"]


def test_the_dashboard_shows_the_controller_dead_letters_forwarding_and_the_stream():
    body = json.loads(context().resolve(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]))
    text = json.dumps(body)
    for shown in (
        "Onboarded",
        "Repaired",
        "Conflicts",
        "Errors",
        "eks-audit-dlq",
        "ForwardedLogEvents",
        "DeliveryErrors",
        "DeliveryToS3.Success",
        "DeliveryToS3.DataFreshness",
    ):
        assert shown in text, shown
    assert len(body["widgets"]) == 4
