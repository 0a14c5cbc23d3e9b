"""Fixtures: fake credentials for every test, moto with the EKS lifecycle overlay, the pipeline."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from eks_audit import clients
from eks_audit.aws import ClusterApi
from eks_audit.settings import Settings
from eks_audit_local import eks_lifecycle, logs_overlay
from tests import iam_proof
from tests.helpers import ROOT

REGION = "us-east-1"
ACCOUNT = "123456789012"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    clients.reset()
    yield
    clients.reset()


@pytest.fixture
def clock():
    fake = FakeClock()
    eks_lifecycle.install(creating_seconds=300, update_seconds=30, clock=fake)
    logs_overlay.install()  # CloudWatch Logs as AWS documents it, not as moto does
    return fake


@pytest.fixture
def aws(clock):
    with mock_aws():
        yield


@pytest.fixture
def settings(aws) -> Settings:
    """The delivery pipeline's destination as the stack would create it, and matching settings."""
    return make_pipeline()


def make_pipeline() -> Settings:
    """Create (in moto) the bucket, roles and stream the stack would; the settings that match."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="eks-audit-bucket")
    iam = boto3.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "firehose.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    firehose_role = iam.create_role(RoleName="firehose", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    logs_role = iam.create_role(RoleName="logs-to-firehose", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    stream = boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="eks-audit",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": firehose_role,
            "BucketARN": "arn:aws:s3:::eks-audit-bucket",
            "Prefix": f"eks_audit_logs/{ACCOUNT}/",
            "CompressionFormat": "UNCOMPRESSED",
        },
    )
    return Settings(
        firehose_arn=stream["DeliveryStreamARN"],
        logs_role_arn=logs_role,
        wait_creating_seconds=60,
        wait_updating_seconds=20,
    )


@pytest.fixture
def api(aws) -> ClusterApi:
    return ClusterApi(clients.client("eks", REGION), clients.client("logs", REGION))


def create_cluster(name: str, *, tags: dict[str, str] | None = None, log_types: tuple[str, ...] = ()) -> None:
    kwargs = {}
    if log_types:
        kwargs["logging"] = {"clusterLogging": [{"types": list(log_types), "enabled": True}]}
    boto3.client("eks", region_name=REGION).create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
        tags=tags or {},
        **kwargs,
    )


def load_handler(name: str):
    """functions/<name>/app.py, its handler's AWS calls recorded for the least-privilege proof."""
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.handler = iam_proof.attributed(name, module.handler)
    return module


# With pytest-xdist (make test), each worker records its own flows' calls: each writes them here at
# the end, and the controller process judges them all together (pytest_sessionfinish below), so the
# least-privilege proof still covers every flow of the suite.
CALLS_DIR = "EKS_AUDIT_IAM_CALLS_DIR"


def pytest_configure(config):
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        os.environ[CALLS_DIR] = tempfile.mkdtemp(prefix="eks-audit-iam-calls-")  # the workers inherit it


def pytest_sessionfinish(session, exitstatus):
    directory = os.environ.get(CALLS_DIR)
    if not directory:
        return
    if hasattr(session.config, "workerinput"):
        worker = session.config.workerinput["workerid"]
        iam_proof.dump_calls(iam_proof.RECORDER.calls, os.path.join(directory, f"{worker}.jsonl"))
        return
    paths = sorted(glob.glob(os.path.join(directory, "*.jsonl")))
    calls = iam_proof.load_calls(paths)
    denied = every_workers_calls_denied(calls)
    shutil.rmtree(directory, ignore_errors=True)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.write_line("")  # after the progress dots
    reporter.write_line(
        f"least-privilege proof over every worker's calls: {len(calls)} calls of {len(paths)} workers judged, "
        f"{len(denied)} denied"
    )
    if denied:
        for line in map(str, denied):
            reporter.write_line(line, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def every_workers_calls_denied(calls: list[iam_proof.Call]) -> list[tuple[str, str, str]]:
    """The calls of the whole suite that the roles as CloudFormation creates them would deny."""
    from tests.template import test_least_privilege as proof

    denied = []
    context = proof.evaluation_context(proof.spokes_of(calls), LogRetentionDays="30")
    for function in proof.FUNCTIONS:
        policy = proof.role_statements(function, context)
        denied += [
            (r.action, r.resource, r.why)
            for r in proof.requests(calls, function)
            if not iam_proof.allowed(policy, r)
        ]
    return sorted(set(denied))


@pytest.fixture(scope="session", autouse=True)
def _record_every_functions_calls():
    """The least-privilege proof judges the calls of every flow of the suite (tests/iam_proof.py):
    the handlers the tests load, and those the local cloud's controller runs."""
    from eks_audit_local import controller

    iam_proof.RECORDER.install()
    original = controller.load_function

    def load_function(name: str):
        module = original(name)
        module.handler = iam_proof.attributed(name, module.handler)
        return module

    controller.load_function = load_function
    yield
    controller.load_function = original


@dataclass
class Context:
    function_name: str = "eks-audit-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:eks-audit-test"
    aws_request_id: str = "req-1"
    log_stream_name: str = "2026/11/27/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def stack(settings, monkeypatch, request):
    """The environment the template gives the functions, with a real (moto) reconcile queue."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="reconcile",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    env = {
        "FIREHOSE_ARN": settings.firehose_arn,
        "LOGS_ROLE_ARN": settings.logs_role_arn,
        "RECONCILE_QUEUE_URL": queue,
        # moto honours DelaySeconds: no wait, so that requeued messages can be read at once
        "WAIT_CREATING_SECONDS": "0",
        "EXPECTED_CREATING_SECONDS": "0",
        "WAIT_UPDATING_SECONDS": "0",
        # a Powertools Logger per test: its handler binds the stdout pytest captures at creation
        "POWERTOOLS_SERVICE_NAME": f"eks-audit-{request.node.name}",
        "POWERTOOLS_METRICS_NAMESPACE": "EksAudit",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {"queue": queue, "dlq": dlq, "sqs": sqs}


def sqs_event(*bodies, receive_count=1):
    batch = json.loads((ROOT / "events" / "sqs-batch.json").read_text())
    template = batch["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"m-{index}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}


@pytest.fixture
def response_url():
    """A custom resource's ResponseURL on loopback; the answers in CloudFormationResponses.answers."""
    from tests.helpers import CloudFormationResponses, loopback

    CloudFormationResponses.answers, CloudFormationResponses.sizes = [], []
    with loopback(CloudFormationResponses) as url:
        yield f"{url}/presigned"
