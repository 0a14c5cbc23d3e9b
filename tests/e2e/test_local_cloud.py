"""The flows of the product, through the local cloud: CloudTrail -> rule -> queue -> reconciler,
and CloudWatch Logs -> Firehose -> S3 -> SNS -> the consumer's queue."""

import io
import json
import time
from urllib.parse import unquote_plus

import boto3
import pytest

from eks_audit.delivery import iter_log_events, iter_members
from eks_audit_local.audit_lines import generate
from eks_audit_local.template import load_template, resources_of_type

ROLE = "arn:aws:iam::123456789012:role/eks"


def create(cloud, name, **extra):
    cloud.client("eks").create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={}, **extra)


def audit_on(cloud, name) -> bool:
    config = cloud.client("eks").describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
    return any(entry["enabled"] and "audit" in entry["types"] for entry in config)


def filters(cloud, name):
    logs = cloud.client("logs")
    try:
        found = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{name}/cluster")[
            "subscriptionFilters"
        ]
    except logs.exceptions.ResourceNotFoundException:
        return None
    return {f["filterName"]: f for f in found}


def test_new_cluster_has_its_filter_before_active_and_audit_once_active(cloud):
    create(cloud, "e2e-new", logging={"clusterLogging": [{"types": ["authenticator"], "enabled": True}]})
    assert cloud.wait_until(
        lambda: filters(cloud, "e2e-new") is not None and "eks-audit" in filters(cloud, "e2e-new"), 5
    )
    assert cloud.client("eks").describe_cluster(name="e2e-new")["cluster"]["status"] == "CREATING"
    ours = filters(cloud, "e2e-new")["eks-audit"]
    outputs = cloud.stack.outputs()
    assert ours["destinationArn"] == outputs["FirehoseArn"]
    assert ours["roleArn"] == outputs["LogsRoleArn"]
    assert ours["filterPattern"] == load_template()["Parameters"]["FilterPattern"]["Default"]
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-new"), 15)
    logging_config = cloud.client("eks").describe_cluster(name="e2e-new")["cluster"]["logging"][
        "clusterLogging"
    ]
    assert {t for e in logging_config if e["enabled"] for t in e["types"]} == {"audit", "authenticator"}


def test_update_cluster_config_returns_an_update_that_describe_update_follows(cloud):
    create(cloud, "e2e-updates")
    eks = cloud.client("eks")
    assert cloud.wait_until(
        lambda: eks.describe_cluster(name="e2e-updates")["cluster"]["status"] == "ACTIVE", 10
    )
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-updates"), 10)
    time.sleep(1)  # let the controller's own update finish
    update = eks.update_cluster_config(
        name="e2e-updates", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    )["update"]
    assert update["status"] == "InProgress" and update["type"] == "LoggingUpdate"
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.update_cluster_config(
            name="e2e-updates", logging={"clusterLogging": [{"types": ["scheduler"], "enabled": True}]}
        )
    assert cloud.wait_until(
        lambda: (
            eks.describe_update(name="e2e-updates", updateId=update["id"])["update"]["status"] == "Successful"
        ),
        5,
    )
    with pytest.raises(eks.exceptions.InvalidParameterException, match="No changes needed"):
        eks.update_cluster_config(
            name="e2e-updates", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
        )


def test_audit_lines_reach_s3_as_multi_member_objects_and_the_consumer_is_notified(cloud):
    create(cloud, "e2e-flow")
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-flow"), 15)
    logs, s3, sqs = cloud.client("logs"), cloud.client("s3"), cloud.client("sqs")
    group, stream = "/aws/eks/e2e-flow/cluster", "kube-apiserver-audit-00112233445566778899aabbccddeeff"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    lines = generate(300, seed=3)
    for start in range(0, 300, 50):
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": int(time.time() * 1000), "message": line.text}
                for line in lines[start : start + 50]
            ],
        )
    bucket, prefix = cloud.stack.output("BucketName"), cloud.stack.output("DeliveryPrefix")
    delivered, member_counts = [], []

    def collect() -> bool:
        delivered.clear()
        member_counts.clear()
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            member_counts.append(len(list(iter_members(io.BytesIO(body)))))
            delivered.extend(e.message for e in iter_log_events(io.BytesIO(body)) if e.log_group == group)
        return len(delivered) >= sum(line.kept for line in lines)

    assert cloud.wait_until(collect, 10)
    assert sorted(delivered) == sorted(line.text for line in lines if line.kept)
    assert max(member_counts) > 1  # Firehose concatenates records: readers must read every member
    keys = set()

    def notified() -> bool:
        for message in sqs.receive_message(QueueUrl=cloud.consumer_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for record in json.loads(json.loads(message["Body"])["Message"])["Records"]:
                keys.add(unquote_plus(record["s3"]["object"]["key"]))  # notifications URL-encode keys
        return bool(keys)

    assert cloud.wait_until(notified, 5)
    assert all(key.startswith(prefix) for key in keys)


def test_opted_out_cluster_is_left_alone(cloud):
    create(cloud, "e2e-skip", tags={"eks-audit:skip": "true"})
    assert cloud.wait_until(
        lambda: any(r.get("cluster") == "e2e-skip" and r.get("verdict") == "skipped" for r in cloud.records),
        5,
    )
    time.sleep(2)  # past CREATING
    assert filters(cloud, "e2e-skip") is None
    assert not audit_on(cloud, "e2e-skip")


def test_removing_the_opt_out_tag_onboards_within_seconds(cloud):
    """Hands-off opt-in: UntagResource reaches the controller through CloudTrail, not the next sweep."""
    create(cloud, "e2e-optin", tags={"eks-audit:skip": "true", "team": "payments"})
    time.sleep(2)  # ACTIVE, and skipped
    arn = cloud.client("eks").describe_cluster(name="e2e-optin")["cluster"]["arn"]
    cloud.client("eks").untag_resource(resourceArn=arn, tagKeys=["eks-audit:skip"])
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-optin"), 10)
    assert "eks-audit" in filters(cloud, "e2e-optin")


def test_full_log_group_is_a_conflict_with_foreign_filters_untouched(cloud):
    logs = cloud.client("logs")
    group = "/aws/eks/e2e-full/cluster"
    logs.create_log_group(logGroupName=group)
    destination, role = cloud.stack.output("FirehoseArn"), cloud.stack.output("LogsRoleArn")
    for name in ("vendor-a", "vendor-b"):
        logs.put_subscription_filter(
            logGroupName=group,
            filterName=name,
            filterPattern="ERROR",
            destinationArn=destination,
            roleArn=role,
        )
    create(cloud, "e2e-full")
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-full"), 15)
    assert cloud.wait_until(
        lambda: any(r.get("cluster") == "e2e-full" and r.get("verdict") == "conflict" for r in cloud.records),
        5,
    )
    found = filters(cloud, "e2e-full")
    assert set(found) == {"vendor-a", "vendor-b"}
    assert {f["filterPattern"] for f in found.values()} == {"ERROR"}


def test_drift_is_repaired_within_seconds(cloud):
    create(cloud, "e2e-drift")
    eks, logs = cloud.client("eks"), cloud.client("logs")
    assert cloud.wait_until(
        lambda: (
            audit_on(cloud, "e2e-drift")
            and eks.describe_cluster(name="e2e-drift")["cluster"]["status"] == "ACTIVE"
        ),
        15,
    )
    logs.delete_subscription_filter(logGroupName="/aws/eks/e2e-drift/cluster", filterName="eks-audit")
    eks.update_cluster_config(
        name="e2e-drift", logging={"clusterLogging": [{"types": ["audit"], "enabled": False}]}
    )
    assert cloud.wait_until(lambda: not audit_on(cloud, "e2e-drift"), 5)
    assert cloud.wait_until(
        lambda: audit_on(cloud, "e2e-drift") and "eks-audit" in (filters(cloud, "e2e-drift") or {}), 10
    )


def test_failed_calls_are_recorded_with_error_code(cloud):
    """CloudTrail records failed calls too; the template's rules do not route them."""
    events, sqs = cloud.client("events"), cloud.client("sqs")
    queue = sqs.create_queue(QueueName="e2e-failed-calls")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="e2e-failed",
        EventPattern=json.dumps({"source": ["aws.eks"], "detail": {"errorCode": [{"exists": True}]}}),
    )
    events.put_targets(Rule="e2e-failed", Targets=[{"Id": "q", "Arn": arn}])
    create(cloud, "e2e-dup")
    with pytest.raises(cloud.client("eks").exceptions.ResourceInUseException):
        create(cloud, "e2e-dup")
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    detail = json.loads(messages[0]["Body"])["detail"]
    assert (detail["eventName"], detail["errorCode"]) == ("CreateCluster", "ResourceInUseException")
    assert detail["requestParameters"]["name"] == "e2e-dup"


def test_deployed_rules_are_the_templates(cloud):
    events = cloud.client("events")
    for name, rule in resources_of_type(load_template(), "AWS::Events::Rule").items():
        deployed = events.describe_rule(Name=cloud.stack.context.refs[name])
        stated = cloud.stack.context.resolve(rule["Properties"]["EventPattern"])
        assert json.loads(deployed["EventPattern"]) == stated
        assert "$or" in stated["detail"]  # the controller's own calls are left out


def test_cli_status_and_backfill_against_the_local_cloud(cloud):
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    create(cloud, "e2e-cli")
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-cli"), 15)
    base = ["--endpoint-url", cloud.endpoint, "--region", cloud.region]
    data = json.loads(CliRunner().invoke(cli, [*base, "--json", "status", "--cluster", "e2e-cli"]).stdout)
    (row,) = data["regions"][0]["clusters"]
    assert (row["verdict"], row["our_filter"], row["audit_logging"]) == ("compliant", "ok", "on")
    cloud.client("logs").delete_subscription_filter(
        logGroupName="/aws/eks/e2e-cli/cluster", filterName="eks-audit"
    )
    backfill = CliRunner().invoke(cli, [*base, "backfill", "--cluster", "e2e-cli"])
    assert backfill.exit_code == 0, backfill.output
    # the controller (on the DeleteSubscriptionFilter event) or the backfill, whichever came first
    assert "us-east-1/e2e-cli: compliant" in backfill.stdout
    assert "eks-audit" in filters(cloud, "e2e-cli")


def observe_cloudtrail(cloud):
    """A queue that a rule of the test's own fills with every EKS and Logs CloudTrail event."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    url = sqs.create_queue(QueueName=f"observer-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = url.rsplit("/", 1)[1]
    events.put_rule(
        Name=name,
        EventPattern=json.dumps(
            {"source": ["aws.eks", "aws.logs"], "detail-type": ["AWS API Call via CloudTrail"]}
        ),
    )
    events.put_targets(Rule=name, Targets=[{"Id": "observer", "Arn": arn}])
    seen = []

    def received():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.append(json.loads(message["Body"])["detail"])
        return seen

    return received


def issuer(detail) -> str | None:
    return ((detail["userIdentity"].get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")


def test_the_controllers_own_calls_are_recorded_but_no_rule_sends_them_back(cloud):
    """CloudTrail records the controller's calls as its role's session; the rules leave them out."""
    observed = observe_cloudtrail(cloud)
    create(cloud, "e2e-echo")
    assert cloud.wait_until(lambda: audit_on(cloud, "e2e-echo"), 15)
    controller = cloud.stack.context.attributes[("ReconcilerFunctionRole", "Arn")]
    own = lambda: {d["eventName"] for d in observed() if issuer(d) == controller}  # noqa: E731
    assert cloud.wait_until(
        lambda: {"CreateLogGroup", "PutSubscriptionFilter", "UpdateClusterConfig"} <= own(), 5
    )
    time.sleep(1)  # time for an echo to have come back, were it routed
    assert not [r for r in cloud.records if "was the controller's own call" in r.get("message", "")]


def test_drift_by_another_roles_session_is_repaired_within_seconds(cloud):
    """Only the controller's own role is left out: another role's change still reaches it."""
    create(cloud, "e2e-other-role")
    assert cloud.wait_until(lambda: "eks-audit" in (filters(cloud, "e2e-other-role") or {}), 15)
    cloud.gateway.roles["AKIAOTHERROLESESSION"] = "arn:aws:iam::123456789012:role/platform-admin"
    logs = boto3.client(
        "logs",
        region_name=cloud.region,
        endpoint_url=cloud.endpoint,
        aws_access_key_id="AKIAOTHERROLESESSION",
        aws_secret_access_key="local",
    )
    logs.delete_subscription_filter(logGroupName="/aws/eks/e2e-other-role/cluster", filterName="eks-audit")
    assert cloud.wait_until(lambda: "eks-audit" in (filters(cloud, "e2e-other-role") or {}), 10)


def test_audit_lines_writes_realistic_lines_into_a_clusters_log_group(cloud):
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    cloud.client("eks").create_cluster(name="lines", roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, "lines"), 20)
    args = [
        "local",
        "audit-lines",
        "--cluster",
        "lines",
        "--count",
        "50",
        "--seed",
        "3",
        "--endpoint-url",
        cloud.endpoint,
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "wrote 50 lines to /aws/eks/lines/cluster" in result.stdout
    events = cloud.client("logs").filter_log_events(logGroupName="/aws/eks/lines/cluster")["events"]
    assert len(events) == 50 and all(json.loads(e["message"])["kind"] == "Event" for e in events)


def test_audit_lines_goes_where_aws_endpoint_url_says(cloud):
    """The README's block exports AWS_ENDPOINT_URL; audit-lines follows it as any AWS client does
    (it wrote to 127.0.0.1:4566 whatever the variable said)."""
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    cloud.client("eks").create_cluster(name="by-env", roleArn=ROLE, resourcesVpcConfig={})
    assert cloud.wait_until(lambda: audit_on(cloud, "by-env"), 20)
    args = ["local", "audit-lines", "--cluster", "by-env", "--count", "5"]
    result = CliRunner(env={"AWS_ENDPOINT_URL": cloud.endpoint}).invoke(cli, args)
    assert result.exit_code == 0, result.output
    events = cloud.client("logs").filter_log_events(logGroupName="/aws/eks/by-env/cluster")["events"]
    assert len(events) == 5


@pytest.mark.parametrize(
    "command",
    [["status"], ["backfill", "--dry-run"], ["consumer", "check"], ["doctor"], ["tail", "--max-events", "1"]],
    ids=lambda c: c[0],
)
def test_a_well_formed_region_that_does_not_exist_is_one_line_and_exit_2(cloud, command):
    """The local cloud answers a region it does not have as AWS does (403, "Credential should be
    scoped to a valid region"), and every command says what is wrong in one line."""
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    result = CliRunner().invoke(cli, [*command, "--endpoint-url", cloud.endpoint, "--region", "eu-west-9"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(
            "eks-audit: eu-west-9: not a region botocore's partition data knows, and AWS did not answer for it"
        )
    )
    assert "Traceback" not in result.output
