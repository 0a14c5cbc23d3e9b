"""status, backfill and decode against moto: output and exit codes."""

import io
import json

import boto3
import pytest
from click.testing import CliRunner

from eks_audit.delivery import control_record, encode_record
from eks_audit_cli.main import cli
from eks_audit_local.deploy import register_stack
from tests.conftest import REGION, create_cluster
from tests.helpers import crowd_log_group


@pytest.fixture
def stack(settings):
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="eks-audit-topic")["TopicArn"]
    register_stack(
        boto3.client("cloudformation", region_name=REGION),
        "eks-audit",
        {
            "FirehoseArn": settings.firehose_arn,
            "LogsRoleArn": settings.logs_role_arn,
            "FilterName": settings.filter_name,
            "FilterPattern": settings.filter_pattern,
            "BucketName": "eks-audit-bucket",  # the pipeline conftest's settings fixture made
            "TopicArn": topic,
        },
        {"IncludeClusters": ".*", "ExcludeClusters": "scratch-.*"},
    )
    return settings


def run(*args):
    return CliRunner().invoke(cli, ["--region", REGION, *args])


def onboard(name, clock):
    create_cluster(name)
    clock.advance(300)
    result = run("backfill", "--cluster", name, "--wait", "0")
    clock.advance(30)
    return result


def test_without_service_quotas_the_command_runs_on_the_defaults_and_says_so_once(stack, clock):
    """moto 5.2.5 answers no ListServiceQuotas for `logs`: as AWS would without the permission."""
    onboard("good", clock)
    create_cluster("other")
    clock.advance(300)
    result = run("status", "--verbose")
    said = [line for line in result.stderr.splitlines() if "quotas not read" in line]
    assert len(said) == 1 and "pacing to the documented defaults" in said[0]
    assert "good" in result.stdout
    rate = next(
        line for line in result.stderr.splitlines() if "rate logs:DescribeSubscriptionFilters" in line
    )
    assert "documented default" in rate


def test_status_compliant_exits_0(stack, clock):
    onboard("good", clock)
    create_cluster("scratch-1")  # excluded by the stack's regex: out of scope
    clock.advance(300)
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "good" in result.output and "compliant" in result.output
    data = json.loads(run("--json", "status").stdout)
    verdicts = {c["cluster"]: c["verdict"] for r in data["regions"] for c in r["clusters"]}
    assert verdicts == {"good": "compliant", "scratch-1": "skipped"}
    assert data["ok"] is True


def test_status_drifted_or_conflict_exits_1_and_says_why(stack, clock):
    onboard("good", clock)
    boto3.client("logs", region_name=REGION).delete_subscription_filter(
        logGroupName="/aws/eks/good/cluster", filterName="eks-audit"
    )
    result = run("status")
    assert result.exit_code == 1
    assert "good: drifted: subscription filter missing" in result.output
    row = json.loads(run("--json", "status").stdout)["regions"][0]["clusters"][0]
    assert (row["our_filter"], row["audit_logging"], row["log_group"]) == ("missing", "on", "present")


def test_status_pending_within_grace_is_fine_past_it_is_not(stack, clock):
    create_cluster("young")  # CREATING, just created
    run("backfill", "--cluster", "young", "--wait", "0")
    assert run("status").exit_code == 0
    assert run("status", "--pending-grace", "0").exit_code == 1


def test_status_without_a_stack_says_how_to_deploy(settings):
    create_cluster("orphan")
    result = run("status")
    assert result.exit_code == 2  # nothing to judge coverage by: the command cannot run
    assert "no eks-audit stack in us-east-1" in result.stderr
    assert "`make build`, then `.venv-sam/bin/sam deploy --guided`" in result.stderr


def test_status_across_regions(stack, clock):
    onboard("east", clock)
    boto3.client("eks", region_name="eu-west-1").create_cluster(
        name="west", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}
    )
    result = CliRunner().invoke(cli, ["--regions", "us-east-1,eu-west-1", "--json", "status"])
    data = json.loads(result.stdout)
    by_region = {r["region"]: r for r in data["regions"]}
    assert by_region["us-east-1"]["clusters"][0]["verdict"] == "compliant"
    assert "no eks-audit stack" in by_region["eu-west-1"]["problem"]
    assert result.exit_code == 1


def test_backfill_makes_clusters_compliant_and_summarises(stack, clock):
    for name in ("a", "b"):
        create_cluster(name)
    create_cluster("opted-out", tags={"eks-audit:skip": "true"})
    clock.advance(300)
    result = run("--json", "backfill", "--wait", "0")
    data = json.loads(result.stdout)
    by_cluster = {c["cluster"]: c for c in data["clusters"]}
    assert by_cluster["a"]["changed"] == [
        "create-log-group",
        "put-subscription-filter",
        "enable-audit-logging",
    ]
    assert by_cluster["opted-out"]["verdict"] == "skipped"
    # audit logging was enabled but not yet confirmed (no wait): still pending, so not a success
    assert by_cluster["a"]["verdict"] == "pending" and result.exit_code == 1
    clock.advance(30)
    again = run("backfill")
    assert again.exit_code == 0, again.output
    assert "3 clusters, 0 changed" in again.output


def test_a_dry_run_with_no_stack_refuses_instead_of_planning_against_defaults(settings, clock):
    """In a member account the stack has another name: a dry run that planned against defaults
    called a compliant cluster drifted. With no stack there is nothing to compare with."""
    create_cluster("fresh")
    clock.advance(300)
    result = run("backfill", "--dry-run")
    assert result.exit_code == 2
    assert "no eks-audit stack in us-east-1" in result.stderr and "nothing to compare with" in result.stderr
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    real = run("backfill")
    assert real.exit_code == 2 and "sam deploy" in real.stderr


def test_the_stack_is_found_by_what_it_declares_whatever_its_name(settings, clock):
    """A member account's stack is StackSet-<org stack>-members-<uuid>: found by its EksAuditStack
    output; --stack-name still overrides; two such stacks in a region is an error naming both."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    outputs = {
        "FirehoseArn": settings.firehose_arn,
        "LogsRoleArn": settings.logs_role_arn,
        "EksAuditStack": "home",
    }
    register_stack(cloudformation, "StackSet-org-members-0a1b2c3d", outputs, {})
    create_cluster("found")
    clock.advance(300)
    found = run("--json", "status", "--window", "0")
    (region,) = json.loads(found.stdout)["regions"]
    assert region["stack"] == "StackSet-org-members-0a1b2c3d"
    named = run("status", "--stack-name", "eks-audit")
    assert named.exit_code == 2 and "no eks-audit stack named 'eks-audit'" in named.stderr
    register_stack(cloudformation, "another", outputs, {})
    both = run("status")
    assert both.exit_code == 2
    assert both.stderr.strip() == (
        "eks-audit: 2 eks-audit stacks in us-east-1: StackSet-org-members-0a1b2c3d, another; give --stack-name "
        "(one account has one controller: README, Deploying)"
    )


def test_backfill_reports_conflicts_and_exits_1(stack, clock):
    create_cluster("crowded")
    clock.advance(300)
    crowd_log_group(boto3.client("logs", region_name=REGION), "crowded", stack, ("x", "y"))
    dry_run = run("backfill", "--dry-run")
    assert dry_run.exit_code == 1 and "crowded: conflict" in dry_run.stdout  # as the real run will say
    result = run("backfill", "--wait", "0")
    assert result.exit_code == 1
    assert "crowded: conflict" in result.stdout and "x, y" in result.stdout


def test_decode_of_a_prefix_with_no_objects_is_nothing_to_read(aws):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="empty")
    result = run("decode", "s3://empty/eks_audit_logs/")
    assert result.exit_code == 2 and "no objects under s3://empty/eks_audit_logs/" in result.stderr


def test_status_says_an_opted_out_cluster_still_ships(stack, clock):
    onboard("leaving", clock)
    eks = boto3.client("eks", region_name=REGION)
    eks.tag_resource(
        resourceArn=eks.describe_cluster(name="leaving")["cluster"]["arn"], tags={"eks-audit:skip": "true"}
    )
    (row,) = [c for r in json.loads(run("--json", "status").stdout)["regions"] for c in r["clusters"]]
    assert row["verdict"] == "skipped" and "still shipping" in row["reason"]


def test_decode_reads_s3_objects_and_prefixes(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="delivered")
    first = encode_record("/aws/eks/p/cluster", "s", [(1, '{"n":1}'), (2, '{"n":2}')])
    second = control_record() + encode_record("/aws/eks/p/cluster", "s", [(3, '{"n":3}')])
    s3.put_object(Bucket="delivered", Key="eks_audit_logs/123/2026/11/27/05/a", Body=first)
    s3.put_object(Bucket="delivered", Key="eks_audit_logs/123/2026/11/27/06/b", Body=second)
    s3.put_object(Bucket="delivered", Key="other/c", Body=first)
    result = CliRunner().invoke(cli, ["--region", REGION, "decode", "s3://delivered/eks_audit_logs/123/"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["n"] for line in result.stdout.splitlines()] == [1, 2, 3]
    assert "3 events from 2 object(s)" in result.stderr
    single = CliRunner().invoke(cli, ["--region", REGION, "decode", "s3://delivered/other/c"])
    assert len(single.stdout.splitlines()) == 2
    missing = CliRunner().invoke(cli, ["--region", REGION, "decode", "s3://delivered/nope"])
    assert missing.exit_code == 2  # nothing to read (the README's exit-code table)
    assert "s3://delivered/nope" in missing.stderr


def test_decode_streams_in_bounded_reads():
    """Memory stays flat: the decoder never asks for the whole object at once."""
    from eks_audit.delivery import CHUNK, iter_log_events

    data = b"".join(
        encode_record("/g", "s", [(i, json.dumps({"i": i, "pad": "x" * 500}))]) for i in range(2000)
    )

    class Guarded(io.BytesIO):
        def read(self, size=-1):
            assert 0 < size <= CHUNK, f"read({size})"
            return super().read(size)

    assert sum(1 for _ in iter_log_events(Guarded(data))) == 2000


def test_status_says_when_cloudwatch_refuses_the_stacks_pattern(settings):
    register_stack(
        boto3.client("cloudformation", region_name=REGION),
        "eks-audit",
        {
            "FirehoseArn": settings.firehose_arn,
            "LogsRoleArn": settings.logs_role_arn,
            "FilterPattern": "%something!%",  # AWS's own example of a refused regex
        },
        {},
    )
    create_cluster("payments")
    result = run("--json", "status")
    assert result.exit_code == 1
    (region,) = json.loads(result.stdout)["regions"]
    assert region["problem"].startswith("CloudWatch Logs refuses the stack's FilterPattern")
    (row,) = region["clusters"]
    assert "the filter cannot be put" in row["reason"]


def test_a_name_no_region_holds_is_not_found_in_words_never_gone(stack, clock):
    """status --cluster demoo said "no EKS clusters found"; backfill --cluster demoo called it gone."""
    onboard("demo", clock)
    status = run("status", "--cluster", "demoo")
    assert status.exit_code == 1
    assert status.stdout.splitlines()[0] == "demoo: not found in us-east-1"
    backfill = run("backfill", "--cluster", "demoo", "--dry-run")
    assert "gone" not in backfill.output
    assert "demoo: not found in us-east-1" in backfill.stderr


def test_one_cluster_is_one_cluster_and_no_trailing_colon(stack, clock):
    onboard("solo", clock)
    status = run("status", "--cluster", "solo")
    assert "1 cluster: 1 compliant" in status.stdout
    empty = run("backfill", "--cluster", "nowhere", "--dry-run")
    assert "0 clusters, 0 to change\n" in empty.stdout


def test_ctrl_c_during_backfill_says_what_was_done_and_that_a_rerun_is_safe(stack, clock, monkeypatch):
    from eks_audit_cli import backfill

    for name in ("first", "second", "third"):
        create_cluster(name)
    clock.advance(300)
    real = backfill.reconcile
    seen: list[str] = []

    def interrupted_on_the_third(api, settings, cluster, region, **kwargs):
        seen.append(cluster)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return real(api, settings, cluster, region, **kwargs)

    monkeypatch.setattr(backfill, "reconcile", interrupted_on_the_third)
    result = run("backfill", "--concurrency", "1")
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.startswith("eks-audit backfill: ")]
    assert lines[0].startswith("eks-audit backfill: interrupted: ") and "of 3 clusters done" in lines[0]
    assert lines[-1] == (
        "eks-audit backfill: re-running eks-audit backfill is safe: it starts from what it finds in each cluster"
    )
