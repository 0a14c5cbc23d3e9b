"""`eks-audit local serve` as a user runs it: READY line, any client can use it, Ctrl-C stops it."""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import boto3
from click.testing import CliRunner

from eks_audit_cli.main import cli


@contextmanager
def serving(tmp_path, *options):
    """`eks-audit local serve` in its own process; yields its endpoint, then interrupts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(tmp_path / "stderr", "w") as stderr_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "eks_audit_cli", "local", "serve", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("READY ") or not line:
                break
        assert line.startswith("READY http://127.0.0.1:"), line
        yield line.split()[1]
    finally:
        process.send_signal(signal.SIGINT)
        process.code = process.wait(timeout=30)
    assert process.code == 0


def test_serve_prints_ready_serves_clients_and_stops_on_interrupt(tmp_path):
    with serving(tmp_path, "--creating-seconds", "1") as endpoint:
        eks = boto3.client(
            "eks",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        eks.create_cluster(
            name="from-a-client", roleArn="arn:aws:iam::123456789012:role/e", resourcesVpcConfig={}
        )
        logs = boto3.client(
            "logs",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="other",
            aws_secret_access_key="other",
        )
        for _ in range(50):
            try:
                found = logs.describe_subscription_filters(logGroupName="/aws/eks/from-a-client/cluster")
                if found["subscriptionFilters"]:
                    break
            except logs.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.1)
        assert [f["filterName"] for f in found["subscriptionFilters"]] == ["eks-audit"]
    stderr = (tmp_path / "stderr").read_text()
    assert stderr.startswith("starting the local cloud on 127.0.0.1:")  # said before the wait, not after
    assert "stopping" in stderr
    assert "controller: from-a-client" in stderr


def test_no_controller_leaves_an_existing_account_to_the_backfill(tmp_path, monkeypatch):
    """`--no-controller`: the stack and its spokes, nothing attached; `eks-audit backfill` onboards."""
    with serving(
        tmp_path, "--no-controller", "--regions", "us-east-1,eu-west-1", "--creating-seconds", "0.5"
    ) as url:
        clients = {
            service: boto3.client(
                service,
                region_name="eu-west-1",
                endpoint_url=url,
                aws_access_key_id="a",
                aws_secret_access_key="a",
            )
            for service in ("eks", "logs")
        }
        clients["eks"].create_cluster(
            name="older", roleArn="arn:aws:iam::123456789012:role/e", resourcesVpcConfig={}
        )
        time.sleep(2)  # a controller would have put the filter by now
        groups = clients["logs"].describe_log_groups(logGroupNamePrefix="/aws/eks/older/")["logGroups"]
        assert groups == []
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, "a")
        result = CliRunner().invoke(
            cli, ["backfill", "--endpoint-url", url, "--regions", "eu-west-1", "--poll-interval", "1"]
        )
        assert result.exit_code == 0, result.output
        assert "eu-west-1/older: compliant" in result.stdout
        found = clients["logs"].describe_subscription_filters(logGroupName="/aws/eks/older/cluster")
        assert found["subscriptionFilters"][0]["destinationArn"].split(":")[3] == "eu-west-1"
    assert "spoke deployed in eu-west-1" in (tmp_path / "stderr").read_text()


def test_serve_an_organization_prints_ready_and_status_org_reads_it(tmp_path):
    with serving(tmp_path, "--organization", "1", "--sweep-interval", "0") as endpoint:
        credentials = {"aws_access_key_id": "any", "aws_secret_access_key": "any", "region_name": "us-east-1"}
        organizations = boto3.client("organizations", endpoint_url=endpoint, **credentials)
        accounts = {a["Name"]: a["Id"] for a in organizations.list_accounts()["Accounts"]}
        assert set(accounts) == {"master", "member-1"}
        env = {"AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1"}
        result = CliRunner(env=env).invoke(cli, ["status", "--org", "--json", "--endpoint-url", endpoint])
        stacks = {a["account"]: a["stack"] for a in json.loads(result.stdout)["accounts"]}
        assert stacks == {accounts["master"]: "management", accounts["member-1"]: "current"}
        assert result.exit_code == 0, result.output
    stderr = (tmp_path / "stderr").read_text()
    assert f"eks-audit-org-members: {accounts['member-1']} us-east-1: deployed" in stderr


def test_serve_on_a_busy_port_names_port_and_exits_2():
    import socket

    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        result = CliRunner().invoke(cli, ["local", "serve", "--port", str(busy), "--quiet"])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{busy}" in result.output and "give --port N" in result.output
