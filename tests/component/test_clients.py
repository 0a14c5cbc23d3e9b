from eks_audit import clients


def test_clients_are_cached_and_use_adaptive_retries():
    first = clients.client("eks", "eu-west-1")
    assert clients.client("eks", "eu-west-1") is first
    assert clients.client("eks", "eu-central-1") is not first
    assert first.meta.config.retries["mode"] == "adaptive"


def test_aws_endpoint_url_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    clients.reset()
    assert clients.client("logs", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4599"
    assert clients.client("eks", "us-east-1", endpoint_url="http://127.0.0.1:1").meta.endpoint_url == (
        "http://127.0.0.1:1"
    )
