"""The handlers invoked in-process against moto with the events/ samples."""

import json
import logging

import boto3
import pytest

from tests.conftest import REGION, Context, create_cluster, load_handler, sqs_event
from tests.helpers import ROOT, sample


def queued(stack):
    messages = (
        stack["sqs"].receive_message(QueueUrl=stack["queue"], MaxNumberOfMessages=10).get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def emitted_metrics(capsys) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' in line:
            blob = json.loads(line)
            for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[metric["Name"]] = found.get(metric["Name"], 0) + sum(
                    blob[metric["Name"]] if isinstance(blob[metric["Name"]], list) else [blob[metric["Name"]]]
                )
    return found


def test_sample_batch_onboards_ignores_and_reports_malformed(stack, clock, capsys):
    create_cluster("payments-prod")
    create_cluster("legacy-ci")
    reconciler = load_handler("reconciler")
    event = json.loads((ROOT / "events" / "sqs-batch.json").read_text())

    response = reconciler.handler(event, Context())

    # only the malformed message fails; the rest of the batch stands
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][4]["messageId"]}]}
    logs = boto3.client("logs", region_name=REGION)
    for name in ("payments-prod", "legacy-ci"):
        filters = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{name}/cluster")[
            "subscriptionFilters"
        ]
        assert [f["filterName"] for f in filters] == ["eks-audit"]
    # both are CREATING: each is requeued to be looked at again
    requeued = queued(stack)
    assert sorted(m["cluster"] for m in requeued) == ["legacy-ci", "payments-prod", "payments-prod"]
    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"level"' in line]
    malformed = [line for line in lines if "malformed message" in line["message"]]
    assert len(malformed) == 1 and "detail.requestParameters.name" in malformed[0]["message"]
    assert any("ignored" in line["message"] and "ResourceInUseException" in line["message"] for line in lines)
    reconciled = [line for line in lines if line.get("verdict")]
    assert reconciled and all(line.get("cluster") for line in reconciled)  # the cluster on every line


def test_metrics_count_onboarded_ignored_malformed_and_requeues(stack, clock, capsys):
    create_cluster("payments-prod")
    reconciler = load_handler("reconciler")
    reconciler.handler(
        sqs_event(sample("eks-create-cluster"), sample("eks-create-cluster-failed"), "{oops"), Context()
    )
    found = emitted_metrics(capsys)
    assert found["Onboarded"] == 1
    assert found["Requeues"] == 1
    assert found["Ignored"] == 1
    assert found["Malformed"] == 1


def test_requeue_carries_the_update_and_the_cluster_becomes_compliant(stack, clock):
    create_cluster("payments-prod")
    clock.advance(300)
    reconciler = load_handler("reconciler")
    reconciler.handler(sqs_event({"cluster": "payments-prod", "region": REGION}), Context())
    follow_up = queued(stack)
    assert len(follow_up) == 1 and follow_up[0]["update_id"]
    clock.advance(30)
    assert reconciler.handler(sqs_event(follow_up[0]), Context()) == {"batchItemFailures": []}
    cluster = boto3.client("eks", region_name=REGION).describe_cluster(name="payments-prod")["cluster"]
    assert {"audit"} <= {t for e in cluster["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]}
    assert queued(stack) == []


def test_long_wait_is_deferred_not_reconciled(stack, clock):
    reconciler = load_handler("reconciler")
    reconciler.handler(
        sqs_event({"cluster": "payments-prod", "region": REGION, "wait_seconds": 2000}), Context()
    )
    attributes = stack["sqs"].get_queue_attributes(QueueUrl=stack["queue"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []


def test_other_region_is_ignored(stack):
    reconciler = load_handler("reconciler")
    assert reconciler.handler(sqs_event({"cluster": "c", "region": "eu-west-1"}), Context()) == {
        "batchItemFailures": []
    }


def test_malformed_message_reaches_the_dead_letter_queue_after_the_receive_count(stack, caplog):
    reconciler = load_handler("reconciler")
    sqs = stack["sqs"]
    sqs.send_message(QueueUrl=stack["queue"], MessageBody="{truncated")
    for _ in range(3):
        messages = sqs.receive_message(
            QueueUrl=stack["queue"], AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        assert len(messages) == 1
        event = sqs_event(
            messages[0]["Body"], receive_count=messages[0]["Attributes"]["ApproximateReceiveCount"]
        )
        assert reconciler.handler(event, Context())["batchItemFailures"]
    assert sqs.receive_message(QueueUrl=stack["queue"]).get("Messages") is None
    dead = sqs.receive_message(QueueUrl=stack["dlq"]).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{truncated"]


def test_bad_settings_fail_with_the_variable_named(stack, monkeypatch, capsys):
    monkeypatch.setenv("FIREHOSE_ARN", "nope")
    reconciler = load_handler("reconciler")
    response = reconciler.handler(sqs_event({"cluster": "c", "region": REGION}), Context())
    assert response["batchItemFailures"]
    assert "FIREHOSE_ARN: expected" in capsys.readouterr().out


def test_sweeper_enqueues_every_cluster(stack, clock):
    for index in range(23):
        create_cluster(f"c-{index:02d}")
    sweeper = load_handler("sweeper")
    result = sweeper.handler(sample("scheduled"), Context())
    assert result["enqueued"] == 23 and result["failed"] == []
    seen = []
    while (
        batch := stack["sqs"].receive_message(QueueUrl=stack["queue"], MaxNumberOfMessages=10).get("Messages")
    ):
        seen += [json.loads(m["Body"]) for m in batch]
        stack["sqs"].delete_message_batch(
            QueueUrl=stack["queue"],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    assert sorted(m["cluster"] for m in seen) == [f"c-{index:02d}" for index in range(23)]
    assert {m["trigger"] for m in seen} == {"sweep"}


def test_sweeper_dry_run_returns_plans_and_changes_nothing(stack, clock):
    create_cluster("payments-prod")
    create_cluster("legacy-ci", tags={"eks-audit:skip": "true"})
    sweeper = load_handler("sweeper")
    result = sweeper.handler(sample("backfill-dry-run"), Context())
    assert result["dry_run"] is True
    verdicts = {c["cluster"]: c["verdict"] for c in result["clusters"]}
    assert verdicts == {"payments-prod": "drifted", "legacy-ci": "skipped"}
    assert result["summary"] == {"drifted": 1, "skipped": 1}
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    assert queued(stack) == []


def test_sweeper_named_clusters_and_bad_payload(stack, clock):
    create_cluster("payments-prod")
    create_cluster("other")
    sweeper = load_handler("sweeper")
    result = sweeper.handler(sample("backfill-named"), Context())
    assert [c["cluster"] for c in result["clusters"]] == ["payments-prod", "legacy-ci"]
    assert [c["verdict"] for c in result["clusters"]] == ["drifted", "gone"]
    with pytest.raises(ValueError, match=r"clusters\[0\]"):
        sweeper.handler({"clusters": ["no/slashes"]}, Context())


logging.getLogger("botocore").setLevel(logging.WARNING)


@pytest.fixture
def spoke(stack, monkeypatch):
    """A second region covered by the same deployment: its stream and role named as spoke.yaml names them."""
    region, prefix = "eu-west-1", "eks-audit-test"
    boto3.client("s3", region_name=region).create_bucket(
        Bucket="spoke-bucket", CreateBucketConfiguration={"LocationConstraint": region}
    )
    boto3.client("firehose", region_name=region).create_delivery_stream(
        DeliveryStreamName=f"{prefix}-audit",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::spoke-bucket",
        },
    )
    monkeypatch.setenv("SPOKE_REGIONS", region)
    monkeypatch.setenv("SPOKE_NAME_PREFIX", prefix)
    return region, prefix


def test_a_spoke_regions_cluster_gets_its_regions_stream(spoke, clock):
    region, prefix = spoke
    eks = boto3.client("eks", region_name=region)
    eks.create_cluster(
        name="eu-payments", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}
    )
    reconciler = load_handler("reconciler")
    assert reconciler.handler(sqs_event({"cluster": "eu-payments", "region": region}), Context()) == {
        "batchItemFailures": []
    }
    (found,) = boto3.client("logs", region_name=region).describe_subscription_filters(
        logGroupName="/aws/eks/eu-payments/cluster"
    )["subscriptionFilters"]
    assert found["destinationArn"] == f"arn:aws:firehose:{region}:123456789012:deliverystream/{prefix}-audit"
    assert found["roleArn"] == f"arn:aws:iam::123456789012:role/{prefix}-spoke-logs"


def test_sweeper_covers_every_region_of_the_deployment(stack, spoke, clock):
    region, _ = spoke
    create_cluster("home-1")
    boto3.client("eks", region_name=region).create_cluster(
        name="eu-1", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}
    )
    sweeper = load_handler("sweeper")
    assert sweeper.handler(sample("scheduled"), Context())["enqueued"] == 2
    assert sorted((m["region"], m["cluster"]) for m in queued(stack)) == [
        (region, "eu-1"),
        (REGION, "home-1"),
    ]
    dry = sweeper.handler({"dry_run": True, "regions": [region]}, Context())
    assert [(c["region"], c["cluster"], c["verdict"]) for c in dry["clusters"]] == [
        (region, "eu-1", "drifted")
    ]
    with pytest.raises(ValueError, match="not covered"):
        sweeper.handler({"regions": ["ap-south-1"]}, Context())
