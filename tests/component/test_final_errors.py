"""CloudWatch Logs' LimitExceededException is a permanent answer: one attempt, no adaptive slow-down.

botocore's standard and adaptive retry modes count it as throttling; against an endpoint that always
answers it, an unpatched client makes max_attempts calls. These tests count the calls.
"""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from botocore.exceptions import ClientError
from botocore.retries import adaptive

from eks_audit import clients
from eks_audit.aws import ClusterApi
from eks_audit.model import Verdict
from eks_audit.reconcile import reconcile
from eks_audit.settings import Settings
from eks_audit_cli.session import Aws
from tests.helpers import QuietHandler, loopback


class _Endpoint(QuietHandler):
    """Answers every CloudWatch Logs call with `code`; every EKS call with an ACTIVE cluster."""

    code = "LimitExceededException"
    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.rpartition(".")[2]
        type(self).calls.append(operation)
        if operation == "DescribeSubscriptionFilters":
            self._answer(200, {"subscriptionFilters": [{"filterName": "other-product"}]})
            return
        del body
        self._answer(400, {"__type": self.code, "message": "Resource limit exceeded."})

    def do_GET(self) -> None:  # EKS DescribeCluster
        type(self).calls.append("DescribeCluster")
        cluster = {
            "name": "c1",
            "status": "ACTIVE",
            "logging": {"clusterLogging": [{"types": ["audit"], "enabled": True}]},
        }
        self._answer(200, {"cluster": cluster})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def endpoint():
    _Endpoint.calls = []
    with loopback(_Endpoint) as url:
        yield url


@pytest.fixture
def throttle_signals(monkeypatch):
    """Every response the adaptive limiter judges to be throttling."""
    seen: list[str] = []
    original = adaptive.ClientRateLimiter.on_receiving_response

    def spy(self, **kwargs):
        if self._throttling_detector.is_throttling_error(**kwargs):
            seen.append("throttled")
        return original(self, **kwargs)

    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_receiving_response", spy)
    return seen


@pytest.mark.parametrize("mode", ["adaptive", "standard"])
def test_library_client_gives_up_on_the_first_limit_exceeded(endpoint, monkeypatch, mode, throttle_signals):
    monkeypatch.setenv("AWS_RETRY_MODE", mode)
    logs = clients.client("logs", "us-east-1", endpoint_url=endpoint)
    with pytest.raises(logs.exceptions.LimitExceededException):
        logs.put_subscription_filter(
            logGroupName="/aws/eks/c1/cluster", filterName="eks-audit", filterPattern="", destinationArn="x"
        )
    assert _Endpoint.calls == ["PutSubscriptionFilter"]
    assert throttle_signals == []


def test_throttling_is_still_retried(endpoint, monkeypatch, throttle_signals):
    """The hook is narrow: a real throttling answer keeps botocore's retries and slow-down."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setattr(_Endpoint, "code", "ThrottlingException")
    logs = clients.client("logs", "us-east-1", endpoint_url=endpoint)
    with pytest.raises(ClientError):
        logs.create_log_group(logGroupName="/aws/eks/c1/cluster")
    # Config's max_attempts counts retries: the first attempt plus three
    assert _Endpoint.calls == ["CreateLogGroup"] * 4
    assert len(throttle_signals) == 4


def test_cli_client_gives_up_on_the_first_limit_exceeded(endpoint, throttle_signals):
    logs = Aws(None, endpoint, ("us-east-1",)).client("logs", "us-east-1")
    with pytest.raises(logs.exceptions.LimitExceededException):
        logs.create_log_group(logGroupName="/aws/eks/c1/cluster")
    assert _Endpoint.calls == ["CreateLogGroup"]
    assert throttle_signals == []


def test_reconcile_reports_the_conflict_on_the_first_answer(endpoint):
    """The group filled up between observe and put: one PutSubscriptionFilter, then the conflict."""
    api = ClusterApi(
        clients.client("eks", "us-east-1", endpoint_url=endpoint),
        clients.client("logs", "us-east-1", endpoint_url=endpoint),
    )
    settings = Settings(
        firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
        logs_role_arn="arn:aws:iam::123456789012:role/r",
    )
    outcome = reconcile(api, settings, "c1", "us-east-1")
    assert outcome.verdict is Verdict.CONFLICT
    assert "other-product" in outcome.foreign_filters
    assert _Endpoint.calls.count("PutSubscriptionFilter") == 1
