"""The local cloud's quotas, and the CLI and the controller pacing to what they read from them."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner

from eks_audit import ratelimit
from eks_audit.quotas import quota_name, read_quotas
from eks_audit_cli.main import cli
from eks_audit_local.quotas_overlay import Quotas, default_rates, parse_quotas
from eks_audit_local.server import Timings
from tests.e2e.conftest import recorded_cloud
from tests.helpers import audit_on


@pytest.fixture(scope="module")
def cloud():
    rates = default_rates()
    rates["logs:DescribeSubscriptionFilters"] = 3.0  # changed, as `--quotas` would: an applied value
    rates["logs:DescribeLogStreams"] = rates["eks:TagResource"] = 0.05  # one call per 20 s
    with recorded_cloud(
        timings=Timings(creating=0.5, update=0.5, sweep_interval=0), quotas=Quotas(rates)
    ) as local:
        yield local


def single_attempt(cloud, service):
    """A client that does not retry: each answer, throttling included, reaches the test."""
    return boto3.client(
        service,
        region_name=cloud.region,
        endpoint_url=cloud.endpoint,
        aws_access_key_id="tester",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def answers(calls):
    found = []
    for call in calls:
        try:
            call()
            found.append(("ok", 200))
        except ClientError as exc:
            found.append((exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]))
    return found


def test_calls_beyond_the_quota_are_throttled_in_the_services_own_error_shape(cloud):
    """Two APIs nothing else here calls get one call per 20 s: the first is served (moto answers),
    the second, a moment later, is refused, however slow the machine."""
    logs, eks = single_attempt(cloud, "logs"), single_attempt(cloud, "eks")
    group = "/aws/eks/none/cluster"
    first, second = answers([lambda: logs.describe_log_streams(logGroupName=group)] * 2)
    assert first == ("ResourceNotFoundException", 400)  # admitted: moto's own answer
    assert second == ("ThrottlingException", 400)  # CloudWatch Logs' JSON protocol: 400
    arn = "arn:aws:eks:us-east-1:123456789012:cluster/none"
    first, second = answers([lambda: eks.tag_resource(resourceArn=arn, tags={"a": "b"})] * 2)
    assert first[0] != "ThrottlingException"
    assert second == ("ThrottlingException", 429)  # EKS's model gives its ThrottlingException 429
    assert cloud.quotas.throttled[(cloud.region, "eks:TagResource")] >= 1  # counted for `local serve`


def test_service_quotas_serves_the_applied_value_and_the_defaults(cloud):
    reading = read_quotas(cloud.client("service-quotas"))
    applied_name = quota_name("logs:DescribeSubscriptionFilters").lower()
    assert reading.applied[applied_name] == 3.0  # the changed quota is applied
    assert reading.defaults[applied_name] == 5.0  # and AWS's default is still 5
    assert reading.defaults[quota_name("logs:PutSubscriptionFilter").lower()] == 5.0
    assert quota_name("logs:PutSubscriptionFilter").lower() not in reading.applied  # not adjustable
    code = cloud.client("service-quotas").list_aws_default_service_quotas(ServiceCode="logs")["Quotas"][0]
    one = cloud.client("service-quotas").get_aws_default_service_quota(
        ServiceCode="logs", QuotaCode=code["QuotaCode"]
    )
    assert one["Quota"]["QuotaName"] == code["QuotaName"]


def test_status_says_with_verbose_which_rate_it_uses_and_where_it_came_from(cloud):
    cloud.client("eks").create_cluster(
        name="shown", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}
    )
    # onboarded first: between ACTIVE and the logging update, status would rightly say drifted
    assert cloud.wait_until(lambda: audit_on(cloud, cloud.region, "shown"), 30)
    result = CliRunner().invoke(
        cli, ["status", "--verbose", "--endpoint-url", cloud.endpoint, "--region", cloud.region]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if " rate " in line]
    describe = next(line for line in lines if "logs:DescribeSubscriptionFilters" in line)
    assert "2.85/s" in describe and "applied quota" in describe  # 95% of the applied 3/s
    put = next(line for line in lines if "logs:PutSubscriptionFilter" in line)
    assert "AWS default quota" in put
    cluster = next(line for line in lines if "eks:DescribeCluster" in line)
    assert "publishes no quota" in cluster
    quiet = CliRunner().invoke(cli, ["status", "--endpoint-url", cloud.endpoint, "--region", cloud.region])
    assert " rate " not in quiet.stderr


def test_the_controller_logs_its_rates_once_with_headroom(cloud):
    eks = cloud.client("eks")
    eks.create_cluster(name="paced", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})
    assert cloud.wait_until(lambda: any("API rates in" in str(r.get("message")) for r in cloud.records), 30)
    (record,) = [r for r in cloud.records if "API rates in" in str(r.get("message"))]
    describe = next(line for line in record["rates"] if line.startswith("logs:DescribeSubscriptionFilters"))
    # one reconciler here (CONCURRENT_RECONCILERS=1): the controller's share of the applied 3/s
    assert describe.startswith(f"logs:DescribeSubscriptionFilters {3 * ratelimit.CONTROLLER_SHARE:g}/s")


def test_an_unreachable_service_quotas_never_fails_a_command(cloud, monkeypatch):
    """Service Quotas' own endpoint pointed at a closed port: the command runs on the defaults and
    says so once."""
    eks = cloud.client("eks")
    names = eks.list_clusters()["clusters"]
    assert cloud.wait_until(lambda: all(audit_on(cloud, cloud.region, name) for name in names), 30)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", "http://127.0.0.1:9")
    result = CliRunner().invoke(cli, ["status", "--region", cloud.region])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "quotas not read" in line]
    assert len(said) == 1 and "documented defaults" in said[0]


def test_quotas_flag_changes_or_lifts_them():
    assert parse_quotas("off") is None
    assert parse_quotas("eks:DescribeCluster=50")["eks:DescribeCluster"] == 50
    with pytest.raises(ValueError, match="expected service:Operation=rate"):
        parse_quotas("eks:Nope=5")
    with pytest.raises(ValueError, match="must be positive"):
        parse_quotas("logs:PutSubscriptionFilter=0")
    lifted = Quotas(None)
    lifted.enforcing = True
    assert all(lifted.admit("1", "r", "logs", "DescribeSubscriptionFilters") for _ in range(100))
