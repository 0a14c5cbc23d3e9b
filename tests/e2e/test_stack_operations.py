"""Stack operations on a three-region local cloud: taking a region out of SpokeRegions deletes that
region's stack instance but never its audit data; the controller stops covering the region."""

import time

import pytest

from eks_audit import clients
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import LocalCloud, Timings

HOME, KEPT, REMOVED = "us-east-1", "eu-west-1", "ap-southeast-2"
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


def audit_on(cloud, region, name) -> bool:
    config = cloud.client("eks", region).describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
    return any(entry["enabled"] and "audit" in entry["types"] for entry in config)


def delivered_objects(cloud, region, bucket) -> list[str]:
    listed = cloud.client("s3", region).list_objects_v2(Bucket=bucket, Prefix="eks_audit_logs/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_removing_a_region_deletes_its_spoke_and_keeps_its_audit_objects(cloud):
    name = "sydney"
    cloud.client("eks", REMOVED).create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, REMOVED, name), 20)
    logs = cloud.client("logs", REMOVED)
    stream = "kube-apiserver-audit-00112233445566778899aabbccddeeff"
    logs.create_log_stream(logGroupName=f"/aws/eks/{name}/cluster", logStreamName=stream)
    logs.put_log_events(
        logGroupName=f"/aws/eks/{name}/cluster",
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": line.text} for line in generate(20)],
    )
    spoke = cloud.stack.spokes[REMOVED]
    bucket = spoke.output("BucketName")
    assert cloud.wait_until(lambda: delivered_objects(cloud, REMOVED, bucket), 15)
    before = delivered_objects(cloud, REMOVED, bucket)
    stream_name = spoke.context.refs["DeliveryStream"]
    rule = spoke.context.refs["EksApiCallsRule"]
    logs_role = spoke.context.refs["LogsToFirehoseRole"]

    retained = cloud.remove_spoke_region(REMOVED)

    assert set(retained) == {"AuditBucket", "AuditBucketPolicy"}
    assert delivered_objects(cloud, REMOVED, bucket) == before  # the evidence is still there
    assert stream_name not in cloud.client("firehose", REMOVED).list_delivery_streams()["DeliveryStreamNames"]
    assert rule not in [r["Name"] for r in cloud.client("events", REMOVED).list_rules()["Rules"]]
    assert logs_role not in [r["RoleName"] for r in cloud.client("iam").list_roles()["Roles"]]
    assert REMOVED not in cloud.stack.output("CoveredRegions").split(",")
    assert KEPT in cloud.stack.spokes  # the other spoke is untouched
    assert cloud.client("firehose", KEPT).list_delivery_streams()["DeliveryStreamNames"]


def test_the_controller_no_longer_covers_a_removed_region(cloud):
    assert REMOVED not in cloud.stack.function_environment["SPOKE_REGIONS"].split(",")
    cloud.client("eks", REMOVED).create_cluster(name="after", roleArn=ROLE, resourcesVpcConfig={})
    cloud.client("eks", KEPT).create_cluster(name="kept", roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, KEPT, "kept"), 20)
    assert not audit_on(cloud, REMOVED, "after")  # its events no longer reach the home bus
