"""The local cloud's trails (eks_audit_local.trails) on moto: which trails exist in a region for an
account, whether they record a call, and an organization trail seen from a member account."""

import boto3
import pytest

from eks_audit_local import trails

MANAGEMENT = "123456789012"


@pytest.fixture
def cloudtrail(aws):
    trails.install()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="trail-bucket")
    return boto3.client("cloudtrail", region_name="us-east-1")


def test_the_default_trail_records_every_region(aws):
    trails.create_default_trail(MANAGEMENT, "us-east-1")
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert trails.records(MANAGEMENT, region, "eks.amazonaws.com")


def test_a_single_region_trail_records_only_its_region(cloudtrail):
    cloudtrail.create_trail(Name="home-only", S3BucketName="trail-bucket")
    assert not trails.records(MANAGEMENT, "us-east-1", "eks.amazonaws.com")  # not logging yet
    cloudtrail.start_logging(Name="home-only")
    assert trails.records(MANAGEMENT, "us-east-1", "eks.amazonaws.com")
    assert not trails.records(MANAGEMENT, "eu-west-1", "eks.amazonaws.com")
    cloudtrail.delete_trail(Name="home-only")
    assert not trails.records(MANAGEMENT, "us-east-1", "eks.amazonaws.com")


def test_an_organization_trail_reaches_its_members_and_only_while_it_is_one(cloudtrail):
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(AccountName="member", Email="member@example.com")
    member = created["CreateAccountStatus"]["AccountId"]
    arn = cloudtrail.create_trail(Name="org", S3BucketName="trail-bucket", IsMultiRegionTrail=True)[
        "TrailARN"
    ]
    cloudtrail.start_logging(Name="org")
    assert not trails.records(member, "eu-west-1", "logs.amazonaws.com")  # not an organization trail yet
    cloudtrail.update_trail(Name="org", IsOrganizationTrail=True)
    assert trails.records(member, "eu-west-1", "logs.amazonaws.com")
    # the member sees it, and reads its status and selectors by ARN (API_GetTrailStatus)
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role, RoleSessionName="member-check"
    )["Credentials"]
    seen = boto3.client(
        "cloudtrail",
        region_name="eu-west-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    (listed,) = seen.describe_trails(includeShadowTrails=True)["trailList"]
    assert (listed["TrailARN"], listed["IsOrganizationTrail"]) == (arn, True)
    home = boto3.client(
        "cloudtrail",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert home.get_trail_status(Name=arn)["IsLogging"] is True
    assert home.get_event_selectors(TrailName=arn)["TrailARN"] == arn
