"""One topic for every region: a spoke's S3 notification, relayed to the home topic unchanged.

S3 notifies only a topic in the bucket's own region (AmazonS3/latest/userguide/
notification-how-to-event-types-and-destinations.html), and SNS cannot subscribe a topic to a topic.
So each spoke topic delivers to the home relay queue with raw message delivery (the SQS message body
is the S3 event notification itself: sns/latest/dg/sns-large-payload-raw-message-delivery.html, and
SNS delivers to SQS across regions: sns-cross-region-delivery.html), and the forwarder publishes
that body to the home topic with the subject S3 gives its own notifications. A consumer subscribed
to the home topic then gets every region's objects in S3's own format (`Records[].awsRegion`,
`s3.bucket.name`, `s3.object.key` URL-encoded as S3 encodes it), once each.
"""

from __future__ import annotations

import json
from typing import Any

S3_SUBJECT = "Amazon S3 Notification"  # the subject S3 publishes its notifications with


class NotANotification(ValueError):
    """The relayed message is not an S3 event notification; the text says why."""


def check(body: str) -> str:
    """`body` if it is an S3 event notification (or S3's test event), else NotANotification."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise NotANotification(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise NotANotification("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return body
    records = message.get("Records")
    if not isinstance(records, list) or not records:
        raise NotANotification("no Records")
    for index, record in enumerate(records):
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise NotANotification(f"Records[{index}].eventSource is not aws:s3")
    return body


def forward(sns: Any, topic_arn: str, body: str) -> str:
    """Publish the notification `body` to the home topic, unchanged; returns the message id."""
    return sns.publish(TopicArn=topic_arn, Message=check(body), Subject=S3_SUBJECT)["MessageId"]
