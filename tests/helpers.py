"""Shared test helpers (paths and sample events)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean."""

    def log_message(self, *args) -> None:
        pass


@contextmanager
def loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 while the block runs; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class CloudFormationResponses(QuietHandler):
    """Plays a custom resource's presigned ResponseURL: keeps every answer (and its size in bytes)."""

    answers: list[dict] = []  # noqa: RUF012 - one test at a time
    sizes: list[int] = []  # noqa: RUF012

    def do_PUT(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).sizes.append(len(raw))
        type(self).answers.append(json.loads(raw))
        self.send_response(200)
        self.end_headers()


class SleepingClock:
    """A fake monotonic clock whose sleep() only moves it on (and remembers each sleep)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def audit_on(cloud, region: str, name: str) -> bool:
    """Whether a cluster of the local cloud has the `audit` log type enabled."""
    config = cloud.client("eks", region).describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
    return any(entry["enabled"] and "audit" in entry["types"] for entry in config)


def put_audit_lines(
    cloud,
    region: str,
    name: str,
    texts: list[str],
    stream: str = "kube-apiserver-audit-00112233445566778899aabbccddeeff",
) -> None:
    """Write audit lines into a cluster's log group on the local cloud, as the API server would."""
    import time

    logs = cloud.client("logs", region)
    logs.create_log_stream(logGroupName=f"/aws/eks/{name}/cluster", logStreamName=stream)
    logs.put_log_events(
        logGroupName=f"/aws/eks/{name}/cluster",
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": text} for text in texts],
    )


def crowd_log_group(logs, cluster: str, settings, names: tuple[str, ...] = ("a", "b")) -> None:
    """Create the cluster's log group holding foreign filters only (two fill it: AWS's limit)."""
    group = f"/aws/eks/{cluster}/cluster"
    logs.create_log_group(logGroupName=group)
    for name in names:
        logs.put_subscription_filter(
            logGroupName=group,
            filterName=name,
            filterPattern="",
            destinationArn=settings.firehose_arn,
            roleArn=settings.logs_role_arn,
        )


def packaged_sam_template(bucket: str = "packaged") -> dict:
    """template.yaml as `sam package` leaves it: every function's and layer's code in S3."""
    from samtranslator.yaml_helper import yaml_parse

    from eks_audit_local.template import TEMPLATE
    from eks_audit_templates.org import with_code_in

    return with_code_in(yaml_parse(TEMPLATE.read_text()), bucket)


def read_notified(cloud, queue_url: str, delivered: dict[str, list[str]]) -> None:
    """Take the notifications waiting on the consumer's queue (SNS envelopes of S3's notifications)
    and add the log messages of each notified object to `delivered[<its region>]`."""
    import io
    from urllib.parse import unquote_plus

    from eks_audit.delivery import iter_log_events

    sqs = cloud.client("sqs")
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for record in json.loads(json.loads(message["Body"])["Message"])["Records"]:
            region, bucket = record["awsRegion"], record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])
            assert key.startswith(f"eks_audit_logs/123456789012/{region}/")  # objects say their region
            body = cloud.client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
            delivered.setdefault(region, []).extend(e.message for e in iter_log_events(io.BytesIO(body)))
