"""Coverage means delivery: a deleted stream, topic or bucket makes every cluster of its region not
compliant in `eks-audit status`, the reason naming the broken part; and the local cloud forwards
nothing to a stream that no longer exists."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from eks_audit_cli.main import cli
from eks_audit_local import delivery
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import LocalCloud, Timings
from tests.e2e.conftest import cloud_with_one_cluster
from tests.helpers import put_audit_lines


@pytest.fixture
def cloud():
    with cloud_with_one_cluster() as local:
        yield local


def status(cloud):
    args = ["status", "--json", "--endpoint-url", cloud.endpoint, "--region", "us-east-1", "--window", "1h"]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, json.loads(result.stdout)


def verdict(report):
    (row,) = [row for region in report["regions"] for row in region["clusters"]]
    return row["verdict"], row["reason"]


def delete_stream(cloud):
    name = cloud.stack.output("FirehoseArn").rsplit("/", 1)[1]
    cloud.client("firehose").delete_delivery_stream(DeliveryStreamName=name)
    return f"the delivery stream {name} does not exist"


def delete_topic(cloud):
    arn = cloud.stack.output("TopicArn")
    cloud.client("sns").delete_topic(TopicArn=arn)
    return f"the topic {arn.rsplit(':', 1)[1]} does not exist"


def delete_bucket(cloud):
    s3, bucket = cloud.client("s3"), cloud.stack.output("BucketName")
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
    return f"the bucket {bucket} does not exist"


@pytest.mark.parametrize(
    "break_it", [delete_stream, delete_topic, delete_bucket], ids=["stream", "topic", "bucket"]
)
def test_a_deleted_part_makes_the_region_not_compliant_and_says_which(cloud, break_it):
    code, report = status(cloud)
    assert (code, verdict(report)[0]) == (0, "compliant")
    said = break_it(cloud)
    code, report = status(cloud)
    state, reason = verdict(report)
    assert code == 1 and state == "silent" and said in reason
    assert said in report["regions"][0]["problem"]


def test_nothing_is_forwarded_to_a_deleted_stream(cloud):
    delete_stream(cloud)
    put_audit_lines(cloud, "us-east-1", "payments", [line.text for line in generate(20) if line.kept])

    def delivery():
        return verdict(status(cloud)[1])

    assert cloud.wait_until(lambda: "does not exist" in delivery()[1], 10)
    (row,) = [row for region in status(cloud)[1]["regions"] for row in region["clusters"]]
    assert row["delivery"]["forwarded"] == 0 and row["delivery"]["errors"] > 0


def test_a_deleted_bucket_fails_delivery_as_firehose_does_keeping_the_records_for_retry(cloud):
    delete_bucket(cloud)
    put_audit_lines(cloud, "us-east-1", "payments", [line.text for line in generate(20) if line.kept])
    stream_arn = cloud.stack.output("FirehoseArn")
    assert cloud.wait_until(lambda: delivery.pending_records(stream_arn) > 0, 10)
    assert delivery.flush(stream_arn) == 0  # no object written, and no error raised to the caller
    assert delivery.pending_records(stream_arn) > 0  # kept for the next attempt
    name = stream_arn.rsplit("/", 1)[1]
    points = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Firehose",
        MetricName="DeliveryToS3.Success",
        Dimensions=[{"Name": "DeliveryStreamName", "Value": name}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["Minimum"],
    )["Datapoints"]
    assert points and min(p["Minimum"] for p in points) == 0.0


def test_a_local_cloud_that_fails_to_start_gives_the_process_its_environment_back(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:4566")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    local = LocalCloud(port=0, timings=Timings(creating=0.5, update=0.3, sweep_interval=0))

    def broken_deploy():
        raise RuntimeError("deploy failed")

    monkeypatch.setattr(local, "_deploy", broken_deploy)
    with pytest.raises(RuntimeError, match="deploy failed"):
        local.start()
    assert os.environ["AWS_ENDPOINT_URL"] == "http://elsewhere:4566"
    assert "POWERTOOLS_METRICS_DISABLED" not in os.environ
    assert not [thread for thread in local._threads if thread.is_alive()]
