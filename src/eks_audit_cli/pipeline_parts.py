"""Does each part of a region's delivery pipeline exist and work: the Firehose stream (ACTIVE), the
topic, the bucket? Metrics cannot tell: after a stream is deleted, CloudWatch still holds the
forwarded counts of the hour before. A broken part makes every cluster of the region not compliant,
and the reason names the part.

`judge` is pure (what AWS answered -> the broken parts in words); `broken_parts` asks AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

NOT_FOUND = frozenset({"ResourceNotFoundException", "NotFound", "NotFoundException", "404", "NoSuchBucket"})


@dataclass(frozen=True)
class Answer:
    """What AWS said of one part: a status (the stream's), or the error code of the look."""

    part: str  # "the delivery stream eks-audit-..."
    status: str | None = None
    error: str | None = None


def judge(answers: list[Answer]) -> list[str]:
    broken = []
    for answer in answers:
        if answer.error in NOT_FOUND:
            broken.append(f"{answer.part} does not exist")
        elif answer.error:
            broken.append(f"{answer.part} cannot be checked ({answer.error})")
        elif answer.status is not None and answer.status != "ACTIVE":
            broken.append(f"{answer.part} is {answer.status}, not ACTIVE")
    return broken


def _look(part: str, call: Any, status_of: Any = None) -> Answer:
    try:
        response = call()
    except ClientError as exc:
        return Answer(part, error=exc.response.get("Error", {}).get("Code", "error"))
    return Answer(part, status=status_of(response) if status_of else None)


def broken_parts(
    client_for: Any, region: str, stream_arn: str, topic_arn: str | None, bucket: str
) -> list[str]:
    """The parts of `region`'s pipeline that are missing or not ACTIVE, in words."""
    stream = stream_arn.rsplit("/", 1)[1]
    firehose, sns, s3 = client_for("firehose", region), client_for("sns", region), client_for("s3", region)
    answers = [
        _look(
            f"the delivery stream {stream}",
            lambda: firehose.describe_delivery_stream(DeliveryStreamName=stream),
            lambda r: r["DeliveryStreamDescription"]["DeliveryStreamStatus"],
        ),
        _look(f"the bucket {bucket}", lambda: s3.head_bucket(Bucket=bucket)),
    ]
    if topic_arn:
        answers.append(
            _look(
                f"the topic {topic_arn.rsplit(':', 1)[1]}",
                lambda: sns.get_topic_attributes(TopicArn=topic_arn),
            )
        )
    return judge(answers)
