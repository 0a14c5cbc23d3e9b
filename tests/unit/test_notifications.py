"""Relaying a spoke's S3 notification to the home topic: unchanged, and nothing that is not one."""

import json

import pytest

from eks_audit.notifications import S3_SUBJECT, NotANotification, check, forward

NOTIFICATION = json.dumps(
    {
        "Records": [
            {
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "eks_audit_logs%2F1%2Feu-west-1%2Fa+b"}},
            }
        ]
    }
)


class Sns:
    def __init__(self):
        self.published = []

    def publish(self, **kwargs):
        self.published.append(kwargs)
        return {"MessageId": "m-1"}


def test_a_notification_is_published_to_the_home_topic_byte_for_byte():
    sns = Sns()
    assert forward(sns, "arn:aws:sns:us-east-1:1:home", NOTIFICATION) == "m-1"
    assert sns.published == [
        {"TopicArn": "arn:aws:sns:us-east-1:1:home", "Message": NOTIFICATION, "Subject": S3_SUBJECT}
    ]


def test_s3s_test_event_is_relayed_too():
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})
    assert check(body) == body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ("{}", "no Records"),
        (json.dumps({"Records": [{"eventSource": "aws:sqs"}]}), r"Records\[0\].eventSource is not aws:s3"),
    ],
)
def test_anything_else_is_refused_with_the_reason_and_never_published(body, reason):
    sns = Sns()
    with pytest.raises(NotANotification, match=reason):
        forward(sns, "arn:aws:sns:us-east-1:1:home", body)
    assert sns.published == []
