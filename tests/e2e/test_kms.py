"""A deploy with a customer managed key (KmsKeyArn) on a two-region local cloud: the home bucket,
stream and topic use the key, both regions' audit lines reach the consumer (the spoke's through the
forwarder, which publishes to the encrypted topic), the consumer's check reads them; and a key of
another region fails the deploy, naming the parameter, before any part of the pipeline exists.

The local cloud does not enforce key policies (docs/local-cloud.md): who may use the key on each
path is proven on the policies themselves (tests/template/test_kms.py)."""

import json

import pytest
from click.testing import CliRunner

from eks_audit import clients
from eks_audit.regions import RegionsError
from eks_audit_cli.main import cli
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import LocalCloud, Timings
from tests.helpers import audit_on, put_audit_lines, read_notified
from tests.template.test_kms import readme_key_policy

HOME, SPOKE = "us-east-1", "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks"


def cloud_with_key(key_region: str):
    """A local cloud whose stack is deployed with a key (the README's key policy) of `key_region`."""
    clients.reset()
    local = LocalCloud(
        port=0,
        region=HOME,
        spoke_regions=(SPOKE,),
        timings=Timings(creating=1.5, update=0.5, sweep_interval=0),
    )
    local.start_server()
    policy = {"Version": "2012-10-17", "Statement": readme_key_policy()}
    key = local.client("kms", key_region).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    local.extra_parameters["KmsKeyArn"] = key
    return local


@pytest.fixture(scope="module")
def cloud():
    local = cloud_with_key(HOME)
    try:
        local.deploy_stack()
        yield local
    finally:
        local.stop()
        clients.reset()


def test_the_home_bucket_stream_and_topic_use_the_key(cloud):
    key = cloud.extra_parameters["KmsKeyArn"]
    encryption = cloud.client("s3").get_bucket_encryption(Bucket=cloud.stack.output("BucketName"))
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    topic = cloud.client("sns").get_topic_attributes(TopicArn=cloud.stack.output("TopicArn"))["Attributes"]
    assert topic["KmsMasterKeyId"] == key
    # the spoke keeps S3-managed keys: a KMS key is regional
    spoke_bucket = cloud.stack.spokes[SPOKE].output("BucketName")
    encryption = cloud.client("s3", SPOKE).get_bucket_encryption(Bucket=spoke_bucket)
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_both_regions_reach_the_consumer_through_the_encrypted_topic(cloud):
    lines = generate(60, seed=11)
    kept = sorted(line.text for line in lines if line.kept)
    for region in (HOME, SPOKE):
        name = f"k-{region}"
        cloud.client("eks", region).create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
        assert cloud.wait_until(lambda r=region, n=name: audit_on(cloud, r, n), 20), region
        put_audit_lines(cloud, region, name, [line.text for line in lines])
    queue = cloud.stack.output("NotificationQueueUrl")
    delivered: dict[str, list[str]] = {HOME: [], SPOKE: []}

    def all_delivered() -> bool:
        read_notified(cloud, queue, delivered)
        return all(len(found) >= len(kept) for found in delivered.values())

    assert cloud.wait_until(all_delivered, 20), {r: len(d) for r, d in delivered.items()}
    assert {region: sorted(found) for region, found in delivered.items()} == {HOME: kept, SPOKE: kept}


def test_the_consumer_check_reads_both_regions(cloud):
    for region in (HOME, SPOKE):
        assert cloud.wait_until(lambda r=region: audit_on(cloud, r, f"k-{r}"), 20)
    args = ["consumer", "check", "--json", "--endpoint-url", cloud.endpoint, "--regions", f"{HOME},{SPOKE}"]
    result = CliRunner().invoke(cli, args)
    report = json.loads(result.stdout)
    (stack,) = report["stacks"]
    assert (result.exit_code, stack["problems"]) == (0, [])
    assert all(r["readable"] and r["decodable"] for r in stack["regions"])


def test_a_key_of_another_region_fails_before_the_pipeline_exists():
    local = cloud_with_key(SPOKE)
    try:
        with pytest.raises(
            RegionsError, match=f"KmsKeyArn names a key of {SPOKE}, and this stack is in {HOME}"
        ):
            local.deploy_stack()
        assert local.client("sns").list_topics()["Topics"] == []
        assert not [
            b for b in local.client("s3").list_buckets()["Buckets"] if b["Name"].startswith("eks-audit")
        ]
        assert local.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []
    finally:
        local.stop()
        clients.reset()
