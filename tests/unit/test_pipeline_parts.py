"""The pipeline's parts, judged from what AWS answered."""

from eks_audit_cli.pipeline_parts import Answer, judge


def test_missing_and_inactive_parts_are_named_and_healthy_ones_are_not():
    answers = [
        Answer("the delivery stream s", status="ACTIVE"),
        Answer("the bucket b"),
        Answer("the topic t", error="NotFound"),
        Answer("the delivery stream s2", status="DELETING"),
        Answer("the bucket b2", error="404"),
        Answer("the topic t2", error="AuthorizationError"),
    ]
    assert judge(answers) == [
        "the topic t does not exist",
        "the delivery stream s2 is DELETING, not ACTIVE",
        "the bucket b2 does not exist",
        "the topic t2 cannot be checked (AuthorizationError)",
    ]
