"""One deploy, two regions: the home stack and a spoke on a two-region local cloud. Clusters in both
regions are onboarded by the one controller, repaired, and delivered to the consumer's one queue."""

import io
import json
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from eks_audit.delivery import iter_log_events
from eks_audit_cli.main import cli
from eks_audit_local.audit_lines import generate
from tests.e2e.conftest import recorded_cloud
from tests.helpers import audit_on, put_audit_lines, read_notified

HOME, SPOKE = "us-east-1", "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture(scope="module")
def cloud():
    with recorded_cloud(region=HOME, spoke_regions=(SPOKE,)) as local:
        yield local


def our_filter(cloud, region, name):
    found = cloud.client("logs", region).describe_subscription_filters(
        logGroupName=f"/aws/eks/{name}/cluster"
    )
    return next((f for f in found["subscriptionFilters"] if f["filterName"] == "eks-audit"), None)


def test_clusters_in_both_regions_are_onboarded_by_the_one_controller(cloud):
    for region in (HOME, SPOKE):
        cloud.client("eks", region).create_cluster(name=f"c-{region}", roleArn=ROLE, resourcesVpcConfig={})
    for region in (HOME, SPOKE):
        assert cloud.wait_until(lambda r=region: audit_on(cloud, r, f"c-{r}"), 20), region
        stream = our_filter(cloud, region, f"c-{region}")["destinationArn"]
        assert stream.split(":")[3] == region  # each region's own stream
    spoke = cloud.stack.spokes[SPOKE]
    assert our_filter(cloud, SPOKE, f"c-{SPOKE}")["roleArn"] == spoke.output("LogsRoleArn")


@pytest.mark.parametrize("region", [HOME, SPOKE])
def test_drift_is_repaired_in_each_region(cloud, region):
    name = f"c-{region}"
    eks = cloud.client("eks", region)
    assert cloud.wait_until(
        lambda: (
            audit_on(cloud, region, name) and eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"
        ),
        20,
    )
    cloud.client("logs", region).delete_subscription_filter(
        logGroupName=f"/aws/eks/{name}/cluster", filterName="eks-audit"
    )
    eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["audit"], "enabled": False}]})
    assert cloud.wait_until(lambda: our_filter(cloud, region, name) is not None, 10)
    assert cloud.wait_until(lambda: not audit_on(cloud, region, name), 5)  # the change took effect
    assert cloud.wait_until(
        lambda: (
            audit_on(cloud, region, name) and eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"
        ),
        15,
    )


def test_each_regions_audit_lines_reach_the_one_notification_queue(cloud):
    lines = generate(100, seed=5)
    kept = sorted(line.text for line in lines if line.kept)
    for region in (HOME, SPOKE):
        name = f"c-{region}"
        assert cloud.wait_until(lambda r=region, n=name: audit_on(cloud, r, n), 20)
        put_audit_lines(cloud, region, name, [line.text for line in lines])
    queue = cloud.stack.output("NotificationQueueUrl")
    delivered: dict[str, list[str]] = {HOME: [], SPOKE: []}

    def all_notified_and_delivered() -> bool:
        read_notified(cloud, queue, delivered)
        return all(len(found) >= len(kept) for found in delivered.values())

    assert cloud.wait_until(all_notified_and_delivered, 15), {r: len(d) for r, d in delivered.items()}
    for region, found in delivered.items():
        assert sorted(found) == kept, region


def test_the_local_cloud_refuses_what_aws_refuses_across_regions(cloud):
    home_stream = cloud.stack.output("FirehoseArn")
    logs = cloud.client("logs", SPOKE)
    logs.create_log_group(logGroupName="/aws/eks/cross/cluster")
    with pytest.raises(ClientError) as caught:
        logs.put_subscription_filter(
            logGroupName="/aws/eks/cross/cluster",
            filterName="x",
            filterPattern="",
            destinationArn=home_stream,
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    events = cloud.client("events", SPOKE)
    events.put_rule(Name="to-a-queue", EventPattern=json.dumps({"source": ["x"]}))
    queue_arn = cloud.stack.context.attributes[("ReconcileQueue", "Arn")]
    bus = f"arn:aws:events:{HOME}:123456789012:event-bus/default"
    for target in ({"Id": "q", "Arn": queue_arn}, {"Id": "b", "Arn": bus}):
        with pytest.raises(ClientError, match=r"region|RoleArn"):
            events.put_targets(Rule="to-a-queue", Targets=[target])


def test_status_covers_both_regions_of_the_deployment(cloud):
    for region in (HOME, SPOKE):
        assert cloud.wait_until(lambda r=region: audit_on(cloud, r, f"c-{r}"), 20)
    result = CliRunner().invoke(
        cli,
        [
            "status",
            "--json",
            "--endpoint-url",
            cloud.endpoint,
            "--regions",
            f"{HOME},{SPOKE}",
            "--cluster",
            f"c-{HOME}",
            "--cluster",
            f"c-{SPOKE}",
        ],
    )
    data = json.loads(result.stdout)
    verdicts = {
        (row["region"], row["cluster"]): row["verdict"]
        for region in data["regions"]
        for row in region["clusters"]
        if row["verdict"] != "gone"
    }
    assert verdicts == {(HOME, f"c-{HOME}"): "compliant", (SPOKE, f"c-{SPOKE}"): "compliant"}
    assert [r["problem"] for r in data["regions"]] == [None, None]


def test_a_queue_subscribed_to_nothing_but_the_topic_hears_every_region_once(cloud):
    """Lacework's integration takes one topic: every region's objects reach it, in S3's own format,
    once each, and each object is readable through the consumer role with the external ID."""
    sqs, sns = cloud.client("sqs"), cloud.client("sns")
    url = sqs.create_queue(QueueName="one-topic-consumer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=cloud.stack.output("TopicArn"), Protocol="sqs", Endpoint=arn)
    for region in (HOME, SPOKE):
        assert cloud.wait_until(lambda r=region: audit_on(cloud, r, f"c-{r}"), 20)
        lines = [line.text for line in generate(30, seed=9) if line.kept]
        put_audit_lines(
            cloud, region, f"c-{region}", lines, stream=f"kube-apiserver-audit-one-topic-{region}"
        )
    records: list[dict] = []

    def both_regions_notified() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            records.extend(json.loads(json.loads(message["Body"])["Message"])["Records"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return {r["awsRegion"] for r in records} >= {HOME, SPOKE}

    assert cloud.wait_until(both_regions_notified, 20), records
    keys = [(r["awsRegion"], r["s3"]["object"]["key"]) for r in records]
    assert len(keys) == len(set(keys))  # nothing twice on the topic
    queued: list[tuple[str, str]] = []  # nor on the notification queue, which hears the topic too
    queue = cloud.stack.output("NotificationQueueUrl")
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            for r in json.loads(json.loads(message["Body"])["Message"])["Records"]:
                queued.append((r["awsRegion"], r["s3"]["object"]["key"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert set(keys) <= set(queued) and len(queued) == len(set(queued))
    assert all(r["eventSource"] == "aws:s3" for r in records)
    credentials = cloud.client("sts").assume_role(
        RoleArn=cloud.stack.output("ConsumerRoleArn"),
        RoleSessionName="consumer",
        ExternalId=cloud.stack.output("ExternalId"),
    )["Credentials"]
    for record in records:
        s3 = boto3.client(
            "s3",
            region_name=record["awsRegion"],
            endpoint_url=cloud.endpoint,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        key = unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=record["s3"]["bucket"]["name"], Key=key)["Body"].read()
        assert list(iter_log_events(io.BytesIO(body)))


def consumer_check(cloud):
    args = ["consumer", "check", "--json", "--endpoint-url", cloud.endpoint, "--regions", f"{HOME},{SPOKE}"]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, json.loads(result.stdout)


def test_the_consumer_check_passes_on_a_healthy_stack(cloud):
    for region in (HOME, SPOKE):  # both regions have delivered objects by now (tests above)
        assert cloud.wait_until(lambda r=region: audit_on(cloud, r, f"c-{r}"), 20)
    code, report = consumer_check(cloud)
    (stack,) = report["stacks"]
    assert (code, report["ok"], stack["problems"]) == (0, True, [])
    assert {r["region"]: (r["notified"], r["readable"], r["decodable"]) for r in stack["regions"]} == {
        HOME: (True, True, True),
        SPOKE: (True, True, True),
    }
    assert all(r["events"] > 0 for r in stack["regions"])


@pytest.mark.parametrize(
    ("trust", "reason"),
    [
        ({"AWS": "999999999999"}, "trust refused: the role trusts"),
        (None, "external ID wrong: the role requires not-the-stacks"),
    ],
    ids=["trust", "external-id"],
)
def test_the_consumer_check_names_a_broken_trust(cloud, trust, reason):
    iam = cloud.client("iam")
    role = cloud.stack.output("ConsumerRoleArn").rsplit("/", 1)[1]
    original = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    broken = json.loads(json.dumps(original))
    statement = broken["Statement"][0]
    if trust is not None:
        statement["Principal"] = trust
    else:
        statement["Condition"]["StringEquals"]["sts:ExternalId"] = "not-the-stacks"
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(broken))
    try:
        code, report = consumer_check(cloud)
    finally:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(original))
    assert code == 1 and not report["ok"]
    assert any(reason in problem for problem in report["stacks"][0]["problems"]), report


def test_the_consumer_check_names_a_region_whose_notifications_do_not_reach_the_topic(cloud):
    spoke = cloud.stack.spokes[SPOKE]
    sns = cloud.client("sns", SPOKE)
    subscription = spoke.context.refs["RelaySubscription"]
    sns.unsubscribe(SubscriptionArn=subscription)
    try:
        code, report = consumer_check(cloud)
    finally:
        spoke.context.refs["RelaySubscription"] = sns.subscribe(
            TopicArn=spoke.output("TopicArn"),
            Protocol="sqs",
            Endpoint=cloud.stack.output("RelayQueueArn"),
            Attributes={"RawMessageDelivery": "true"},
        )["SubscriptionArn"]
    regions = {r["region"]: r for r in report["stacks"][0]["regions"]}
    assert code == 1 and regions[HOME]["notified"] and not regions[SPOKE]["notified"]
    assert "does not deliver to the relay queue" in " ".join(regions[SPOKE]["problems"])


def run_cli(cloud, *args):
    result = CliRunner().invoke(cli, [*args, "--endpoint-url", cloud.endpoint])
    return result


def test_a_cluster_named_without_a_region_is_found_where_it_is(cloud):
    assert cloud.wait_until(lambda: audit_on(cloud, SPOKE, f"c-{SPOKE}"), 20)
    result = run_cli(cloud, "status", "--json", "--cluster", f"c-{SPOKE}")
    data = json.loads(result.stdout)
    rows = [(row["region"], row["cluster"]) for region in data["regions"] for row in region["clusters"]]
    assert rows == [(SPOKE, f"c-{SPOKE}")] and result.exit_code == 0, result.stderr
    assert [r["region"] for r in data["regions"]] == [SPOKE]  # only the covered regions were asked


@pytest.mark.parametrize("command", [["status"], ["backfill"], ["backfill", "--dry-run"]])
def test_a_name_found_nowhere_is_not_found(cloud, command):
    result = run_cli(cloud, *command, "--cluster", "no-such-cluster")
    assert result.exit_code == 1
    assert "no-such-cluster: not found in us-east-1, eu-west-1" in result.output + result.stderr


@pytest.mark.parametrize("command", [["status"], ["backfill"]])
def test_a_stack_name_that_exists_nowhere_is_no_stack(cloud, command):
    result = run_cli(cloud, *command, "--stack-name", "no-such-stack", "--region", HOME)
    assert result.exit_code == 2
    assert result.stderr.startswith("eks-audit: no eks-audit stack named 'no-such-stack'")


def test_a_region_no_stack_covers_is_uncovered_in_status_and_in_both_backfills(cloud):
    outside = "ap-south-1"
    cloud.client("eks", outside).create_cluster(name="mumbai", roleArn=ROLE, resourcesVpcConfig={})
    status = run_cli(cloud, "status", "--json", "--regions", f"{HOME},{outside}", "--cluster", "mumbai")
    (row,) = [row for region in json.loads(status.stdout)["regions"] for row in region["clusters"]]
    assert status.exit_code == 1 and row["verdict"] == "uncovered"
    for dry_run in ([], ["--dry-run"]):
        backfill = run_cli(cloud, "backfill", "--regions", outside, *dry_run)
        assert (
            backfill.exit_code == 1 and f"uncovered: no eks-audit stack covers {outside}" in backfill.stderr
        )


def test_status_over_several_regions_says_its_progress(cloud):
    result = run_cli(cloud, "status", "--regions", f"{HOME},{SPOKE}")
    assert "eks-audit status: looking at 2 regions" in result.stderr
    assert f"  {HOME}: " in result.stderr and f"  {SPOKE}: " in result.stderr


def test_tail_of_a_cluster_that_has_no_log_says_so_at_once(cloud, monkeypatch):
    from eks_audit_cli import tail

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(tail.time, "sleep", interrupt)
    result = run_cli(cloud, "tail", "--cluster", "no-log-yet", "--regions", f"{HOME},{SPOKE}")
    assert result.exit_code == 130
    assert (
        "cluster no-log-yet has no log group (/aws/eks/no-log-yet/cluster) in eu-west-1, us-east-1 yet"
        in result.stderr
    )
