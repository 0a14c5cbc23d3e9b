"""The consumer check's judgements of what AWS answered, in words."""

import pytest
from botocore.exceptions import ClientError

from eks_audit_cli.consumer import RegionCheck, judge_read_error, judge_topic_policy, judge_trust, read_newest

TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "lacework-123"}},
        }
    ]
}


def test_a_trust_stored_in_the_root_arn_form_admits_the_account_id():
    assert judge_trust(TRUST, "210987654321", "lacework-123") == []


def test_another_principal_or_external_id_is_named():
    assert judge_trust(TRUST, "111122223333", "lacework-123") == [
        "trust refused: the role trusts arn:aws:iam::210987654321:root, not 111122223333"
    ]
    assert judge_trust(TRUST, "210987654321", "other") == [
        "external ID wrong: the role requires lacework-123, the stack says other"
    ]


def test_a_topic_policy_without_subscribe_for_the_consumer_is_named():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "210987654321"}, "Action": "sns:GetTopicAttributes"}
        ]
    }
    assert judge_topic_policy(policy, "210987654321") == [
        "the topic's policy does not let 210987654321 subscribe (sns:Subscribe)"
    ]
    policy["Statement"][0]["Action"] = ["sns:Subscribe"]
    assert judge_topic_policy(policy, "210987654321") == []


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("AccessDenied", "Access Denied", "the bucket policy or the role's policy denies"),
        ("KMS.AccessDeniedException", "no grant", "KMS denies"),
        ("AccessDenied", "User is not authorized to perform: kms:Decrypt", "KMS denies"),
        ("NoSuchBucket", "The specified bucket does not exist", "no such bucket"),
    ],
)
def test_a_refused_read_is_named_by_what_refused_it(code, message, reason):
    error = ClientError({"Error": {"Code": code, "Message": message}}, "GetObject")
    assert judge_read_error(error, "s3://b/p").startswith(reason)


KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:sts::123456789012:assumed-role/eks-audit-ConsumerRole-ABC/eks-audit-consumer-check"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # AWS's words as S3 passes them on (the AWS CDK's s3-deployment README quotes this one)
        (
            f"User: {ROLE} is not authorized to perform: kms:Decrypt on the resource associated with "
            "this ciphertext because no identity-based policy allows the kms:Decrypt action",
            f"the policy of {ROLE} (key {KEY}) refuses kms:Decrypt to {ROLE} for s3://b/p: no identity-based",
        ),
        (
            f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: {KEY} because no "
            "resource-based policy allows the kms:Decrypt action",
            f"the key policy of {KEY} refuses kms:Decrypt to {ROLE} for s3://b/p: no resource-based",
        ),
        (
            f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: {KEY} with an "
            "explicit deny in a resource-based policy",
            f"the key policy of {KEY} refuses kms:Decrypt to {ROLE} for s3://b/p: an explicit deny",
        ),
    ],
)
def test_a_key_policy_that_refuses_is_named_with_the_principal_and_the_action(message, expected):
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "GetObject")
    assert judge_read_error(error, "s3://b/p", KEY).startswith(expected)


class EmptyBucket:
    def get_paginator(self, name):
        class Pages:
            def paginate(self, **kwargs):
                return iter([{"KeyCount": 0}])

        return Pages()


def test_a_region_with_no_object_yet_is_a_failure_that_says_so():
    result = RegionCheck("eu-west-1", notified=True)
    read_newest(EmptyBucket(), "bucket", "eks_audit_logs/1/eu-west-1/", result)
    assert not result.ok and result.problems == [
        "no object yet under s3://bucket/eks_audit_logs/1/eu-west-1/"
    ]
