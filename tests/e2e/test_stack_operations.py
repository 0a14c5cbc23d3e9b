"""Stack operations on a three-region local cloud whose spoke ap-east-1 is an opt-in region: its
spoke deploys with the regional service principals and notifies the one queue; taking a region out
of SpokeRegions deletes that region's stack instance but never its audit data, and the controller
stops covering the region."""

import json

import pytest

from eks_audit import clients
from eks_audit_local import sns_overlay
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import LocalCloud, Timings
from tests.helpers import audit_on, put_audit_lines

HOME, KEPT, REMOVED = "us-east-1", "ap-east-1", "ap-southeast-2"  # ap-east-1: an opt-in region
ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture(scope="module")
def cloud():
    clients.reset()
    local = LocalCloud(
        port=0,
        region=HOME,
        spoke_regions=(KEPT, REMOVED),
        timings=Timings(creating=1.0, update=0.5, sweep_interval=0),
    )
    local.start()
    yield local
    local.stop()
    clients.reset()


def delivered_objects(cloud, region, bucket) -> list[str]:
    listed = cloud.client("s3", region).list_objects_v2(Bucket=bucket, Prefix="eks_audit_logs/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_describe_regions_answers_as_a_commercial_account(cloud):
    ec2 = cloud.client("ec2")
    enabled = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions()["Regions"]}
    every = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    assert enabled[KEPT] == "opted-in" and enabled[HOME] == "opt-in-not-required"
    assert "af-south-1" not in enabled and every["af-south-1"] == "not-opted-in"
    assert not [r for r in every if r.startswith(("cn-", "us-gov-"))]


def test_the_opt_in_regions_principals_are_in_the_stacks_policies(cloud):
    admin = cloud.stack.context.refs["StackSetAdministrationRole"]
    trust = cloud.client("iam").get_role(RoleName=admin)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert set(statement["Principal"]["Service"]) == {
        "cloudformation.amazonaws.com",
        f"cloudformation.{KEPT}.amazonaws.com",
    }
    queue = cloud.stack.context.refs["RelayQueue"]  # where the spokes' topics deliver
    policy = json.loads(
        cloud.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"][
            "Policy"
        ]
    )
    assert sns_overlay.admits(
        json.dumps(policy), f"sns.{KEPT}.amazonaws.com", cloud.stack.spokes[KEPT].output("TopicArn")
    )


def test_the_opt_in_spoke_notifies_the_one_queue(cloud):
    name = "hongkong"
    cloud.client("eks", KEPT).create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, KEPT, name), 20)
    put_audit_lines(cloud, KEPT, name, [line.text for line in generate(20)])
    sqs, queue = cloud.client("sqs"), cloud.stack.output("NotificationQueueUrl")
    notified: list[dict] = []

    def kept_region_notified() -> bool:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            notified.extend(json.loads(json.loads(message["Body"])["Message"])["Records"])
        return any(record["awsRegion"] == KEPT for record in notified)

    assert cloud.wait_until(kept_region_notified, 15)
    assert not sns_overlay.DROPPED


def test_a_queue_that_admits_only_the_global_principal_hears_nothing_from_an_opt_in_region(cloud):
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="global-principal-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})})
    topic = cloud.stack.spokes[KEPT].output("TopicArn")
    sns = cloud.client("sns", KEPT)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="{}")
    assert sns_overlay.DROPPED[topic] == 1
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")


def test_removing_a_region_deletes_its_spoke_and_keeps_its_audit_objects(cloud):
    name = "sydney"
    cloud.client("eks", REMOVED).create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, REMOVED, name), 20)
    put_audit_lines(cloud, REMOVED, name, [line.text for line in generate(20)])
    spoke = cloud.stack.spokes[REMOVED]
    bucket = spoke.output("BucketName")
    assert cloud.wait_until(lambda: delivered_objects(cloud, REMOVED, bucket), 15)
    before = delivered_objects(cloud, REMOVED, bucket)
    stream_name = spoke.context.refs["DeliveryStream"]
    rule = spoke.context.refs["EksApiCallsRule"]
    assert not [
        n for n, r in spoke.context.template["Resources"].items() if r["Type"].startswith("AWS::IAM::")
    ]

    retained = cloud.remove_spoke_region(REMOVED)

    assert set(retained) == {"AuditBucket", "AuditBucketPolicy"}
    assert delivered_objects(cloud, REMOVED, bucket) == before  # the evidence is still there
    assert stream_name not in cloud.client("firehose", REMOVED).list_delivery_streams()["DeliveryStreamNames"]
    assert rule not in [r["Name"] for r in cloud.client("events", REMOVED).list_rules()["Rules"]]
    # the spokes' roles are the home stack's, one for every spoke region: the kept spoke still uses them
    roles = [r["RoleName"] for r in cloud.client("iam").list_roles()["Roles"]]
    prefix = cloud.stack.output("SpokeNamePrefix")
    assert {f"{prefix}-spoke-logs", f"{prefix}-spoke-firehose"} <= set(roles)
    assert REMOVED not in cloud.stack.output("CoveredRegions").split(",")
    assert KEPT in cloud.stack.spokes  # the other spoke is untouched
    assert cloud.client("firehose", KEPT).list_delivery_streams()["DeliveryStreamNames"]


def test_the_controller_no_longer_covers_a_removed_region(cloud):
    assert REMOVED not in cloud.stack.function_environment["SPOKE_REGIONS"].split(",")
    cloud.client("eks", REMOVED).create_cluster(name="after", roleArn=ROLE, resourcesVpcConfig={})
    cloud.client("eks", KEPT).create_cluster(name="kept", roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, KEPT, "kept"), 20)
    assert not audit_on(cloud, REMOVED, "after")  # its events no longer reach the home bus
