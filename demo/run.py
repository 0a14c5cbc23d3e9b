"""`make demo`: eks-audit end to end on the local cloud, in under a minute.

A scripted scenario a newcomer can follow: one deploy covers two regions (us-east-1, the home, and
eu-west-1, a spoke); clusters are created (one opted out, one whose log group is full of other
products' filters, one that existed before the stack and is picked up by the backfill, one in the
second region), the one controller onboards them as CloudTrail events arrive, audit lines flow
through CloudWatch Logs -> Firehose -> S3 -> SNS -> the consumer's queue from both regions, a drift
is repaired, `eks-audit tail` prints what the consumer receives, a broken stream turns a cluster
`silent`, and a coverage table (with delivery) and a delivery summary close. Then an AWS Organization:
the organization deploy gives two member accounts their controller, an account added to the OU later
gets it too, and `eks-audit status --org` reads them all. Exit status 0 only when every expectation
holds.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from urllib.parse import unquote_plus

from click.testing import CliRunner

from eks_audit.aws import ClusterApi
from eks_audit.delivery import iter_log_events
from eks_audit.settings import Settings
from eks_audit_cli import delivery_health
from eks_audit_cli.coverage import cluster_row, render_table, with_delivery
from eks_audit_cli.main import cli
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import LocalCloud, Timings

START = time.monotonic()
SPOKE = "eu-west-1"
FAILURES: list[str] = []


def say(text: str = "") -> None:
    print(f"[{time.monotonic() - START:5.1f}s] {text}" if text else "", flush=True)


def expect(what: str, ok: bool) -> None:
    print(f"          {'ok ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        FAILURES.append(what)


def activity(record: dict) -> None:
    cluster, message = record.get("cluster"), record.get("message", "")
    if cluster and record.get("verdict") and record.get("actions"):
        print(
            f"          controller: {cluster}: {', '.join(record['actions'])} -> {record['verdict']}",
            flush=True,
        )
    elif record.get("level") == "ERROR":
        print(f"          controller: [error] {message}", flush=True)


def audit_on(cluster: dict) -> bool:
    return any(e["enabled"] and "audit" in e["types"] for e in cluster["logging"]["clusterLogging"])


def main() -> int:
    timings = Timings(creating=3, update=1, firehose_buffer=1, sweep_interval=0)
    cloud = LocalCloud(port=0, spoke_regions=(SPOKE,), timings=timings, on_record=activity)
    say("starting the local cloud (moto + eks-audit overlays)")
    cloud.start_server()
    try:
        status = scenario(cloud)
    finally:
        cloud.stop()
    say()
    say("an AWS Organization: a management account and two member accounts in one OU")
    org_cloud = LocalCloud(port=0, organization=2, timings=timings, on_record=activity)
    try:
        org_cloud.start_server()
        organization_status = organization_scenario(org_cloud)
    finally:
        org_cloud.stop()
    say()
    if FAILURES:
        say(f"FAILED: {len(FAILURES)} expectation(s) did not hold")
        return 1
    say("all expectations hold")
    return status or organization_status


def organization_scenario(cloud: LocalCloud) -> int:
    """The organization deploy (org.yaml) from the management account: both members onboard a new
    cluster; an account created and moved into the OU later gets its stack and onboards one too;
    `eks-audit status --org` reads every account and names the management account."""

    def create(account: str, name: str) -> None:
        cloud.member_client(account, "eks").create_cluster(
            name=name, roleArn=f"arn:aws:iam::{account}:role/eks", resourcesVpcConfig={}
        )

    def onboarded(account: str, name: str) -> bool:
        return audit_on(cloud.member_client(account, "eks").describe_cluster(name=name)["cluster"])

    say("the organization deploy, as the README says: org-artifacts.yaml, then org.yaml")
    cloud.deploy_organization()
    for (stack_set, account, region), instance in sorted(cloud.stack_sets.instances.items()):
        say(
            f"  {stack_set}: account {account} {region}: {'deployed' if instance.failure is None else 'FAILED'}"
        )
    members = list(cloud.org.members)
    for index, account in enumerate(members, 1):
        create(account, f"team-{index}")
        say(f"  account {account}: cluster team-{index} created")
    for index, account in enumerate(members, 1):
        expect(
            f"team-{index} onboarded in its own account {account}",
            cloud.wait_until(lambda a=account, i=index: onboarded(a, f"team-{i}"), 30),
        )
    organizations = cloud.client("organizations")
    joined = organizations.create_account(Email="joined@example.com", AccountName="joined-later")
    account = joined["CreateAccountStatus"]["AccountId"]
    organizations.move_account(
        AccountId=account, SourceParentId=cloud.org.root, DestinationParentId=cloud.org.ou
    )
    say(f"account {account} created and moved into the OU: automatic deployment")
    expect(f"account {account} got its stack", cloud.wait_until(lambda: account in cloud.members, 30))
    create(account, "team-3")
    expect(f"team-3 onboarded in {account}", cloud.wait_until(lambda: onboarded(account, "team-3"), 30))
    lines = generate(40, seed=7)
    member_logs = cloud.member_client(account, "logs")
    member_logs.create_log_stream(
        logGroupName="/aws/eks/team-3/cluster", logStreamName="kube-apiserver-audit-1"
    )
    member_logs.put_log_events(
        logGroupName="/aws/eks/team-3/cluster",
        logStreamName="kube-apiserver-audit-1",
        logEvents=[
            {"timestamp": int(time.time() * 1000) + i, "message": line.text} for i, line in enumerate(lines)
        ],
    )
    kept = sum(1 for line in lines if line.kept)
    say(f"40 audit lines written to team-3's log group in {account} ({kept} kept by the pattern)")
    say("eks-audit status --org (from the management account):")
    result = CliRunner().invoke(cli, ["status", "--org", "--endpoint-url", cloud.endpoint])
    print("\n".join("          " + line for line in result.stdout.splitlines()))
    expect(
        "status --org: every member compliant, the management account named, exit 0", result.exit_code == 0
    )
    expect(
        "status --org covers three member accounts",
        "3 of 4 accounts covered" in result.stdout and "management account" in result.stdout,
    )
    expect(
        f"status --org sums the delivery: {kept} of {len(lines)} events forwarded",
        f"{kept} of {len(lines)} events forwarded" in result.stdout,
    )
    return 0


def scenario(cloud: LocalCloud) -> int:
    eks, logs, s3, sqs = (cloud.client(name) for name in ("eks", "logs", "s3", "sqs"))
    firehose = cloud.client("firehose")

    def create(name: str, **extra) -> None:
        eks.create_cluster(
            name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}, **extra
        )

    def wait(what: str, predicate: Callable[[], bool], timeout: float = 20) -> None:
        expect(what, cloud.wait_until(predicate, timeout))

    say("before the stack: cluster 'legacy' already runs, with no audit logging")
    create("legacy")

    say(f"sam deploy (played by the local cloud from template.yaml), SpokeRegions={SPOKE}")
    stack = cloud.deploy_stack()
    out = stack.outputs()
    say(
        f"  {cloud.region}: bucket {out['BucketName']}, stream {out['FirehoseArn'].rsplit('/', 1)[1]}, "
        f"filter '{out['FilterName']}', the controller"
    )
    spoke = stack.spokes[SPOKE].outputs()
    say(
        f"  {SPOKE}: spoke (StackSet instance): bucket {spoke['BucketName']}, rules forwarding to {cloud.region}"
    )

    # another product's stream, for the foreign filters
    role = out["LogsRoleArn"]
    other = firehose.create_delivery_stream(
        DeliveryStreamName="other-product",
        ExtendedS3DestinationConfiguration={
            "RoleARN": role,
            "BucketARN": f"arn:aws:s3:::{out['BucketName']}",
            "Prefix": "other/",
        },
    )["DeliveryStreamARN"]

    say("new clusters are created:")
    create("payments", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
    say("  payments  (api logging on)")
    create("sandbox", tags={"eks-audit:skip": "true"})
    say("  sandbox   (tag eks-audit:skip=true)")
    logs.create_log_group(logGroupName="/aws/eks/shared/cluster")
    for name in ("datadog", "splunk"):
        logs.put_subscription_filter(
            logGroupName="/aws/eks/shared/cluster",
            filterName=name,
            filterPattern="",
            destinationArn=other,
            roleArn=role,
        )
    create("shared")
    say("  shared    (its log group already holds 2 foreign filters: the limit)")

    wait(
        "payments: log group and our filter exist while it is still CREATING",
        lambda: (
            eks.describe_cluster(name="payments")["cluster"]["status"] == "CREATING"
            and filter_names(logs, "payments") == ["eks-audit"]
        ),
        timeout=3,
    )
    wait(
        "payments: audit logging on once ACTIVE (api left on)",
        lambda: (
            audit_on(eks.describe_cluster(name="payments")["cluster"]) and "api" in enabled(eks, "payments")
        ),
    )
    wait(
        "shared: audit logging on despite the conflict",
        lambda: audit_on(eks.describe_cluster(name="shared")["cluster"]),
    )
    expect("shared: foreign filters untouched", filter_names(logs, "shared") == ["datadog", "splunk"])
    expect(
        "sandbox: left alone (no log group, no audit logging)",
        not audit_on(eks.describe_cluster(name="sandbox")["cluster"])
        and filter_names(logs, "sandbox") is None,
    )
    expect(
        "legacy: untouched until the backfill", not audit_on(eks.describe_cluster(name="legacy")["cluster"])
    )

    say("backfill: dry run first, then for real (sam remote invoke of the sweeper)")
    preview = cloud.controller.invoke_sweeper({"dry_run": True})
    for item in preview["clusters"]:
        say(f"  dry run  {item['cluster']:9} {item['verdict']:10} {', '.join(item['actions']) or '-'}")
    expect("dry run changed nothing", not audit_on(eks.describe_cluster(name="legacy")["cluster"]))
    result = cloud.controller.invoke_sweeper({})
    say(f"  enqueued {result['enqueued']} clusters")
    wait(
        "legacy: onboarded by the backfill",
        lambda: (
            audit_on(eks.describe_cluster(name="legacy")["cluster"])
            and filter_names(logs, "legacy") == ["eks-audit"]
        ),
    )

    say("audit lines are written to payments' kube-apiserver-audit stream (5 batches)")
    lines = generate(600, seed=11)
    group, stream = "/aws/eks/payments/cluster", "kube-apiserver-audit-5f0c1e2d3b4a59687766554433221100"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    for batch in range(5):
        chunk = lines[batch * 120 : (batch + 1) * 120]
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line.text} for i, line in enumerate(chunk)],
        )
    kept = [line.text for line in lines if line.kept]
    delivered: list[str] = []
    members = {"objects": 0}

    def read_delivered() -> bool:
        delivered.clear()
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=out["BucketName"], Prefix=out["DeliveryPrefix"]).get(
                "Contents", []
            )
        ]
        members["objects"] = len(keys)
        for key in keys:
            body = s3.get_object(Bucket=out["BucketName"], Key=key)["Body"].read()
            delivered.extend(e.message for e in iter_log_events(io.BytesIO(body)) if e.log_group == group)
        return len(delivered) >= len(kept)

    wait("objects delivered to S3", read_delivered)
    expect(
        f"delivered exactly the {len(kept)} lines the pattern keeps (of {len(lines)})",
        sorted(delivered) == sorted(kept),
    )
    notifications = []

    def notified() -> bool:
        for message in sqs.receive_message(QueueUrl=cloud.consumer_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            notifications.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=cloud.consumer_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(notifications) >= members["objects"]

    wait("the consumer's queue is notified of each object", notified)

    say(f"a cluster is created in the second region ({SPOKE}): 'berlin'")
    eks_eu, logs_eu = cloud.client("eks", SPOKE), cloud.client("logs", SPOKE)
    eks_eu.create_cluster(name="berlin", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})
    wait(
        "berlin: onboarded by the one controller, filter to the eu-west-1 stream",
        lambda: (
            audit_on(eks_eu.describe_cluster(name="berlin")["cluster"])
            and filter_names(logs_eu, "berlin") == ["eks-audit"]
        ),
    )
    eu_group = "/aws/eks/berlin/cluster"
    logs_eu.create_log_stream(logGroupName=eu_group, logStreamName=stream)
    eu_lines = generate(100, seed=12)
    logs_eu.put_log_events(
        logGroupName=eu_group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": line.text} for i, line in enumerate(eu_lines)],
    )
    eu_kept = sorted(line.text for line in eu_lines if line.kept)
    eu_delivered: list[str] = []

    def eu_notified() -> bool:
        for message in sqs.receive_message(QueueUrl=cloud.consumer_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            notice = json.loads(json.loads(message["Body"])["Message"])
            notifications.append(notice)
            sqs.delete_message(QueueUrl=cloud.consumer_queue_url, ReceiptHandle=message["ReceiptHandle"])
            for record in notice["Records"]:
                if record["awsRegion"] == SPOKE:
                    body = (
                        cloud.client("s3", SPOKE)
                        .get_object(
                            Bucket=record["s3"]["bucket"]["name"],
                            Key=unquote_plus(record["s3"]["object"]["key"]),
                        )["Body"]
                        .read()
                    )
                    eu_delivered.extend(e.message for e in iter_log_events(io.BytesIO(body)))
        return len(eu_delivered) >= len(eu_kept)

    wait(f"berlin's audit lines reach the same consumer queue, from the {SPOKE} bucket", eu_notified)
    expect(f"delivered exactly the {len(eu_kept)} lines the pattern keeps", sorted(eu_delivered) == eu_kept)

    say(
        "eks-audit consumer check: the consumer's path (role and external ID, the one topic, each region read)"
    )
    checked = CliRunner().invoke(
        cli, ["consumer", "check", "--endpoint-url", cloud.endpoint, "--regions", f"{cloud.region},{SPOKE}"]
    )
    for line in checked.stdout.splitlines():
        print(f"          {line[:110]}{'...' if len(line) > 110 else ''}")
    expect(
        "every region notified on the one topic, read and decoded through the consumer role",
        checked.exit_code == 0,
    )

    say("drift: someone switches payments' audit logging off and deletes our filter")
    eks.update_cluster_config(
        name="payments", logging={"clusterLogging": [{"types": ["audit"], "enabled": False}]}
    )
    logs.delete_subscription_filter(logGroupName=group, filterName="eks-audit")
    wait(
        "payments: the change takes effect (audit logging off)",
        lambda: not audit_on(eks.describe_cluster(name="payments")["cluster"]),
        timeout=5,
    )
    wait(
        "payments: repaired (filter back, audit logging on again)",
        lambda: (
            filter_names(logs, "payments") == ["eks-audit"]
            and audit_on(eks.describe_cluster(name="payments")["cluster"])
        ),
    )

    say("eks-audit tail --cluster payments: what the consumer receives, one audit event per line")
    tailed = CliRunner().invoke(
        cli,
        [
            "tail",
            "--endpoint-url",
            cloud.endpoint,
            "--region",
            cloud.region,
            "--cluster",
            "payments",
            "--max-events",
            "3",
            "--since",
            "10m",
            "--interval",
            "0.5",
        ],
    )
    for line in tailed.stdout.splitlines():
        print(f"          {line[:110]}{'...' if len(line) > 110 else ''}")
    expect(
        "tail printed delivered audit events", tailed.exit_code == 0 and len(tailed.stdout.splitlines()) == 3
    )

    say("delivery breaks: the stream's writes to S3 fail (say, a KMS key policy refuses its role)")
    cloud.break_delivery(out["FirehoseArn"])
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": int(time.time() * 1000) + i, "message": line.text}
            for i, line in enumerate(lines[:50])
        ],
    )
    cloud.break_delivery(out["FirehoseArn"], broken=False)

    say("coverage (eks-audit status, with delivery over the last hour):")
    settings = Settings(
        firehose_arn=out["FirehoseArn"],
        logs_role_arn=out["LogsRoleArn"],
        spoke_regions=(SPOKE,),
        spoke_name_prefix=out["SpokeNamePrefix"],
    )
    rows = []
    for region in cloud.regions:
        api = ClusterApi(cloud.client("eks", region), cloud.client("logs", region))
        names = sorted(cloud.client("eks", region).list_clusters()["clusters"])
        deliveries = delivery_health.fetch(
            cloud.client("cloudwatch", region), names, settings.filter_name, 3600
        )
        for name in names:
            row = cluster_row(api, settings.for_region(region), name, region)
            rows.append(with_delivery(row, deliveries[name]) if row.log_group == "present" else row)
    print("\n".join("          " + line for line in render_table(rows).splitlines()))
    verdicts = {row.cluster: row.verdict for row in rows}
    silent = next(row for row in rows if row.cluster == "payments")
    print(f"          payments: {silent.reason}")
    expect(
        "verdicts: legacy/berlin compliant, payments silent (its log stopped getting through), "
        "sandbox skipped, shared conflict",
        verdicts
        == {
            "legacy": "compliant",
            "payments": "silent",
            "berlin": "compliant",
            "sandbox": "skipped",
            "shared": "conflict",
        },
    )

    say("delivery summary:")
    print(f"          lines written        {len(lines)}")
    print(
        f"          kept by the pattern  {len(kept)}  ({len(lines) - len(kept)} dropped: early stages, probes)"
    )
    print(
        f"          delivered to S3      {len(delivered)} events in {members['objects']} objects ({cloud.region})"
    )
    print(f"                               {len(eu_delivered)} events ({SPOKE})")
    print(f"          notifications        {len(notifications)} on the consumer's queue")
    return 1 if FAILURES else 0


def filter_names(logs, cluster: str) -> list[str] | None:
    try:
        filters = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{cluster}/cluster")[
            "subscriptionFilters"
        ]
    except logs.exceptions.ResourceNotFoundException:
        return None
    return sorted(f["filterName"] for f in filters)


def enabled(eks, cluster: str) -> set[str]:
    logging_config = eks.describe_cluster(name=cluster)["cluster"]["logging"]["clusterLogging"]
    return {t for entry in logging_config if entry["enabled"] for t in entry["types"]}


if __name__ == "__main__":
    sys.exit(main())
