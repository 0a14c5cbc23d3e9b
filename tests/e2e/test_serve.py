"""`eks-audit local serve` as a user runs it: READY line, any client can use it, Ctrl-C stops it."""

import os
import signal
import subprocess
import sys
import time

import boto3


def test_serve_prints_ready_serves_clients_and_stops_on_interrupt(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(tmp_path / "stderr", "w") as stderr_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eks_audit_cli",
                "local",
                "serve",
                "--port",
                "0",
                "--creating-seconds",
                "1",
            ],
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
        endpoint = line.split()[1]
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
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0
    stderr = (tmp_path / "stderr").read_text()
    assert "stopping" in stderr
    assert "controller: from-a-client" in stderr
