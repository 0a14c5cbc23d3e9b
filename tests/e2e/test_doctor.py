"""`eks-audit doctor` on the local cloud, before a deploy (the cloud with no stack) and after it: one
line per check, OK / WARN / FAIL with the fix, exit 1 only when something FAILs; AWS's own telemetry
rules and Security Lake sources are reported; nothing is written."""

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from eks_audit import clients
from eks_audit_cli.main import cli
from eks_audit_local.server import LocalCloud, Timings
from eks_audit_local.trails import DEFAULT_TRAIL
from tests.e2e.conftest import recorded_cloud
from tests.helpers import audit_on, crowd_log_group
from tests.template.test_kms import readme_key_policy

HOME, SPOKE = "us-east-1", "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks"


def doctor(cloud, *extra: str) -> tuple[int, dict[str, tuple[str, str]]]:
    args = ["doctor", "--json", "--endpoint-url", cloud.endpoint, "--region", HOME, *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    report = json.loads(result.stdout)
    return result.exit_code, {c["name"]: (c["level"], c["detail"]) for c in report["checks"]}


@pytest.fixture(scope="module")
def bare():
    """An account before the deploy: the local cloud with no stack."""
    clients.reset()
    local = LocalCloud(port=0, region=HOME, timings=Timings(creating=1.0, update=0.5, sweep_interval=0))
    local.start_server()
    yield local
    local.stop()
    clients.reset()


def test_before_a_deploy_everything_a_deploy_needs_is_checked(bare):
    code, checks = doctor(bare, "--spoke-regions", SPOKE)
    assert code == 0
    assert checks["stack"] == ("OK", "no eks-audit stack yet: checking what a deploy needs")
    assert checks["regions"] == ("OK", f"covers {HOME}, {SPOKE}")
    assert checks[f"trail {HOME}"][0] == checks[f"trail {SPOKE}"][0] == "OK"
    assert checks["deploy permissions"][0] == "OK"
    assert checks["KMS key"] == ("OK", "no KmsKeyArn: S3-managed encryption")


def test_before_a_deploy_a_region_not_enabled_fails(bare):
    code, checks = doctor(bare, "--spoke-regions", "af-south-1")
    assert code == 1
    assert checks["regions"][0] == "FAIL" and "af-south-1" in checks["regions"][1]


def test_before_a_deploy_no_trail_fails_with_what_follows(bare):
    cloudtrail = bare.client("cloudtrail")
    cloudtrail.stop_logging(Name=DEFAULT_TRAIL)
    try:
        code, checks = doctor(bare, "--spoke-regions", "")
        assert code == 1
        assert checks[f"trail {HOME}"] == (
            "FAIL",
            f"no CloudTrail trail is logging in {HOME} ({DEFAULT_TRAIL} stopped): new clusters would wait for the sweep",
        )
    finally:
        cloudtrail.start_logging(Name=DEFAULT_TRAIL)


def test_before_a_deploy_a_crowded_log_group_is_the_conflict_to_expect(bare):
    crowded_cluster(bare, "crowded")
    code, checks = doctor(bare, "--spoke-regions", "")
    level, detail = checks[f"filter room {HOME}"]
    assert (code, level) == (0, "WARN")
    assert "crowded (archive, siem)" in detail and "conflicts" in detail


def test_before_a_deploy_a_key_policy_without_s3_fails_naming_the_principal(bare):
    kms = bare.client("kms")
    without_s3 = [s for s in readme_key_policy() if s["Sid"] != "S3NotifiesTheEncryptedTopic"]
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": without_s3}))[
        "KeyMetadata"
    ]["Arn"]
    code, checks = doctor(bare, "--spoke-regions", "", "--kms-key-arn", key)
    assert code == 1
    assert checks["KMS key"][0] == "FAIL"
    assert "does not let s3.amazonaws.com use kms:GenerateDataKey, kms:Decrypt" in checks["KMS key"][1]
    good = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": readme_key_policy()}))
    code, checks = doctor(bare, "--spoke-regions", "", "--kms-key-arn", good["KeyMetadata"]["Arn"])
    assert checks["KMS key"][0] == "OK"
    elsewhere = bare.client("kms", SPOKE).create_key()["KeyMetadata"]["Arn"]
    code, checks = doctor(bare, "--spoke-regions", "", "--kms-key-arn", elsewhere)
    assert checks["KMS key"][0] == "FAIL" and "KmsKeyArn names a key of eu-west-1" in checks["KMS key"][1]


def test_before_a_deploy_the_filter_room_counts_the_clusters_the_parameters_keep_in_scope(bare):
    """--parameter-overrides as sam deploy takes them: a crowded cluster ExcludeClusters leaves out
    is only counted; an explicit option still wins over an override."""
    crowded_cluster(bare, "scratch-crowded")
    code, checks = doctor(bare, "--spoke-regions", "")
    assert (
        checks[f"filter room {HOME}"][0] == "WARN"
        and "scratch-crowded (archive, siem)" in checks[f"filter room {HOME}"][1]
    )
    overrides = "SpokeRegions=eu-west-1 ExcludeClusters='.*crowded'"
    code, checks = doctor(bare, "--parameter-overrides", overrides, "--spoke-regions", "")
    level, detail = checks[f"filter room {HOME}"]
    assert (code, level) == (0, "OK") and "out of scope (IncludeClusters, ExcludeClusters)" in detail
    assert checks["regions"] == ("OK", f"covers {HOME}")  # --spoke-regions won over SpokeRegions
    code, checks = doctor(bare, "--parameter-overrides", 'IncludeClusters="scratch-(" SpokeRegions=')
    assert (code, checks["cluster scope"][0]) == (1, "FAIL")


@pytest.fixture(scope="module")
def deployed():
    with recorded_cloud(region=HOME, spoke_regions=(SPOKE,)) as local:
        yield local


def test_after_a_deploy_the_event_and_delivery_paths_the_queue_and_the_sweep(deployed):
    deployed.controller.invoke_sweeper()
    code, checks = doctor(deployed)
    assert code == 0, checks
    for region in (HOME, SPOKE):
        assert checks[f"event path {region}"][0] == "OK"
        assert checks[f"delivery {region}"][0] == "OK"
    assert checks["dead-letter queue"] == ("OK", "empty")
    assert checks["last sweep"][0] == "OK"


def test_after_a_deploy_a_stopped_trail_and_dead_letters_are_named(deployed):
    deployed.client("cloudtrail").stop_logging(Name=DEFAULT_TRAIL)
    sqs = deployed.client("sqs")
    dead_letters = deployed.stack.output("DeadLetterQueueUrl")
    sqs.send_message(QueueUrl=dead_letters, MessageBody="{}")
    try:
        code, checks = doctor(deployed)
        assert code == 1
        assert checks[f"event path {SPOKE}"][0] == "FAIL"
        assert checks[f"event path {SPOKE}"][1].startswith(f"no CloudTrail trail is logging in {SPOKE}")
        assert checks["dead-letter queue"] == ("WARN", "1 messages the controller gave up on")
    finally:
        deployed.client("cloudtrail").start_logging(Name=DEFAULT_TRAIL)
        sqs.purge_queue(QueueUrl=dead_letters)


def test_awss_telemetry_rule_and_security_lake_are_recognised(deployed):
    deployed.client("observabilityadmin").create_telemetry_rule(
        RuleName="eks-audit-logs",
        Rule={
            "ResourceType": "AWS::EKS::Cluster",
            "TelemetryType": "Logs",
            "TelemetrySourceTypes": ["EKS_AUDIT_LOGS"],
        },
    )
    lake = deployed.client("securitylake", SPOKE)
    lake.create_data_lake(configurations=[{"region": SPOKE}], metaStoreManagerRoleArn=ROLE)
    lake.create_aws_log_source(
        sources=[{"regions": [SPOKE], "sourceName": "EKS_AUDIT", "sourceVersion": "2.0"}]
    )
    code, checks = doctor(deployed)
    assert code == 0
    level, detail = checks[f"telemetry rule {HOME}"]
    assert level == "OK" and detail.startswith(
        "CloudWatch telemetry rule eks-audit-logs enables EKS audit logs in us-east-1"
    )
    assert checks[f"telemetry rule {SPOKE}"][1].startswith("no CloudWatch telemetry rule")
    level, detail = checks[f"Security Lake source {SPOKE}"]
    assert level == "WARN" and "the same audit log is collected, and paid for, twice" in detail
    # status reports them too, in one line each
    args = ["status", "--window", "0", "--endpoint-url", deployed.endpoint, "--regions", f"{HOME},{SPOKE}"]
    printed = CliRunner().invoke(cli, args).output
    assert "CloudWatch telemetry rule eks-audit-logs enables EKS audit logs in us-east-1" in printed
    assert "Security Lake collects EKS audit logs in eu-west-1 too" in printed


def test_a_cluster_whose_audit_logging_a_rule_turned_on_gets_only_the_filter(deployed):
    """Enabling twice is harmless, and eks-audit adds no UpdateClusterConfig of its own."""
    eks = deployed.client("eks")
    eks.create_cluster(
        name="ruled",
        roleArn=ROLE,
        resourcesVpcConfig={},
        logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]},
    )
    logs = deployed.client("logs")

    def has_our_filter() -> bool:
        found = logs.describe_subscription_filters(logGroupName="/aws/eks/ruled/cluster")[
            "subscriptionFilters"
        ]
        return any(f["filterName"] == "eks-audit" for f in found)

    assert deployed.wait_until(has_our_filter, 20)
    assert deployed.wait_until(
        lambda: eks.describe_cluster(name="ruled")["cluster"]["status"] == "ACTIVE", 20
    )
    assert audit_on(deployed, HOME, "ruled")
    assert eks.list_updates(name="ruled")["updateIds"] == []


def test_an_organization_telemetry_rule_is_reported_by_doctor_and_status(deployed):
    deployed.client("observabilityadmin").create_telemetry_rule_for_organization(
        RuleName="org-eks-audit",
        Rule={
            "ResourceType": "AWS::EKS::Cluster",
            "TelemetryType": "Logs",
            "TelemetrySourceTypes": ["EKS_AUDIT_LOGS"],
            "Regions": [SPOKE],
        },
    )
    said = "the organization's telemetry rule org-eks-audit enables EKS audit logs in"
    _code, checks = doctor(deployed)
    for region in (HOME, SPOKE):
        level, detail = checks[f"organization telemetry rule {region}"]
        assert level == "OK" and detail.startswith(f"{said} {region}")
    args = ["status", "--window", "0", "--endpoint-url", deployed.endpoint, "--regions", f"{HOME},{SPOKE}"]
    printed = CliRunner().invoke(cli, args).stdout
    assert f"note: {said} {HOME}" in printed and f"note: {said} {SPOKE}" in printed


def crowded_cluster(cloud, name: str) -> None:
    """A cluster whose log group two foreign filters (siem, archive) already fill, to a stream of its own."""
    cloud.client("eks").create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
    stream = cloud.client("firehose").create_delivery_stream(
        DeliveryStreamName=f"{name}-other",
        ExtendedS3DestinationConfiguration={"BucketARN": "arn:aws:s3:::x", "RoleARN": ROLE},
    )["DeliveryStreamARN"]
    crowd_log_group(
        cloud.client("logs"),
        name,
        SimpleNamespace(firehose_arn=stream, logs_role_arn=ROLE),
        ("siem", "archive"),
    )
