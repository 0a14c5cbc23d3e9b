"""Delivery, not configuration: `status` says per cluster whether its audit log gets through, from
the CloudWatch metrics the local cloud publishes as CloudWatch Logs and Firehose do."""

import contextlib
import json
import time

import pytest
from click.testing import CliRunner

from eks_audit import clients
from eks_audit_cli.main import cli
from eks_audit_local.server import LocalCloud, Timings

ROLE = "arn:aws:iam::123456789012:role/eks"
DELETE = json.dumps(
    {"kind": "Event", "stage": "ResponseComplete", "verb": "delete", "requestURI": "/api/v1/pods/x"}
)
GET = json.dumps({"kind": "Event", "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/pods"})


@pytest.fixture(scope="module")
def cloud():
    clients.reset()
    local = LocalCloud(
        port=0,
        timings=Timings(creating=0.5, update=0.5, sweep_interval=0),
        # a stack that ships only deletions: a cluster that logs no deletion is silent by pattern
        extra_parameters={"FilterPattern": '{ $.verb = "delete" }'},
    )
    local.start()
    yield local
    local.stop()
    clients.reset()


def onboard(cloud, *names):
    eks = cloud.client("eks")
    for name in names:
        eks.create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})

    def on(name):
        logging = eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
        return any(e["enabled"] and "audit" in e["types"] for e in logging)

    assert cloud.wait_until(lambda: all(on(n) for n in names), 20)


def write(cloud, name, *lines):
    logs, stream = cloud.client("logs"), "kube-apiserver-audit-0123456789abcdef0123456789abcdef"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=f"/aws/eks/{name}/cluster", logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=f"/aws/eks/{name}/cluster",
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
    )


def status(cloud, *clusters):
    args = ["status", "--json", "--endpoint-url", cloud.endpoint, "--region", cloud.region, "--window", "1h"]
    for name in clusters:
        args += ["--cluster", name]
    result = CliRunner().invoke(cli, args)
    (region,) = json.loads(result.stdout)["regions"]
    return result.exit_code, region, {row["cluster"]: row for row in region["clusters"]}


def test_each_delivery_verdict(cloud):
    onboard(cloud, "shipping", "quiet", "pattern-drops-all", "broken")
    write(cloud, "shipping", DELETE, GET)
    write(cloud, "pattern-drops-all", GET, GET, GET)
    code, _, rows = status(cloud, "shipping", "quiet", "pattern-drops-all")

    assert rows["shipping"]["verdict"] == "compliant"
    assert rows["shipping"]["delivery"] | {"reason": None} == {
        "window_s": 3600,
        "received": 2,
        "forwarded": 1,
        "errors": 0,
        "throttled": 0,
        "state": "delivered",
        "reason": None,
        "received_bytes": len(DELETE) + len(GET),  # uncompressed
        "forwarded_bytes": rows["shipping"]["delivery"]["forwarded_bytes"],
    }
    assert rows["shipping"]["delivery"]["forwarded_bytes"] > 0  # the compressed record of DELETE
    assert (rows["quiet"]["verdict"], rows["quiet"]["delivery"]["state"]) == ("compliant", "idle")
    assert rows["pattern-drops-all"]["verdict"] == "silent"
    assert "3 events received" in rows["pattern-drops-all"]["reason"]
    assert code == 1  # silent is not covered

    cloud.break_delivery(cloud.stack.output("FirehoseArn"))
    try:
        write(cloud, "broken", DELETE, DELETE)
    finally:
        cloud.break_delivery(cloud.stack.output("FirehoseArn"), broken=False)
    code, _, rows = status(cloud, "broken", "shipping")
    assert rows["broken"]["verdict"] == "silent"
    assert rows["broken"]["delivery"]["errors"] == 2
    assert "failed delivery" in rows["broken"]["reason"]
    assert rows["shipping"]["verdict"] == "compliant"


def test_the_pipeline_health_is_reported_per_region(cloud):
    onboard(cloud, "piped")
    write(cloud, "piped", DELETE)
    assert cloud.wait_until(lambda: status(cloud, "piped")[1]["pipeline"]["s3_success"] == 1.0, 10)
    _, region, _ = status(cloud, "piped")
    assert region["pipeline"]["problem"] is None and region["pipeline"]["data_freshness_s"] is not None


def tail(cloud, cluster, *options):
    base = ["tail", "--endpoint-url", cloud.endpoint, "--region", cloud.region, "--cluster", cluster]
    return CliRunner().invoke(cli, [*base, "--interval", "0.5", *options])


def test_tail_prints_what_is_delivered_every_member_one_event_per_line(cloud):
    onboard(cloud, "tailed")
    lines = [DELETE.replace("/x", f"/{i}") for i in range(5)]
    for line in lines:  # five records: several gzip members in one object
        write(cloud, "tailed", line, GET)
    result = tail(cloud, "tailed", "--max-events", "5", "--since", "5m")
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.splitlines()) == sorted(
        json.dumps(json.loads(line), separators=(",", ":")) for line in lines
    )


def test_tail_with_metadata_names_the_log_group(cloud):
    onboard(cloud, "meta")
    write(cloud, "meta", DELETE)
    (line,) = tail(cloud, "meta", "--max-events", "1", "--with-metadata").stdout.splitlines()
    assert json.loads(line)["logGroup"] == "/aws/eks/meta/cluster"
    assert json.loads(line)["event"]["verb"] == "delete"
