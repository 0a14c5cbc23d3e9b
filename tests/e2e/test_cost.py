"""`eks-audit status` says what each cluster's audit log costs, from the bytes the local cloud's
CloudWatch measured and the prices its Price List API serves; the shipped table stands in, and
says why, when the API cannot be read or answers in another currency."""

import json

import pytest
from click.testing import CliRunner

from eks_audit_cli.main import cli
from eks_audit_local import pricing_overlay
from eks_audit_local.audit_lines import generate
from eks_audit_local.server import ACCOUNT
from tests.e2e.conftest import cloud_with_one_cluster
from tests.helpers import put_audit_lines


@pytest.fixture(scope="module")
def cloud():
    with cloud_with_one_cluster() as local:
        lines = [line.text for line in generate(300)]
        put_audit_lines(local, "us-east-1", "payments", lines)
        local.sent_bytes = sum(len(text.encode()) for text in lines)
        assert local.wait_until(lambda: forwarded(local) > 0, 15)
        yield local


def status(cloud, *extra):
    args = ["status", "--endpoint-url", cloud.endpoint, "--region", "us-east-1", *extra]
    return CliRunner().invoke(cli, args)


def forwarded(cloud) -> int:
    report = json.loads(status(cloud, "--json").stdout)
    (row,) = report["regions"][0]["clusters"]
    return row["cost"]["forwarded_bytes"] if row.get("cost") else 0


@pytest.fixture
def prices_restored():
    yield
    pricing_overlay.reset()


def test_each_cluster_gets_its_bytes_and_monthly_cost_per_stage_with_the_apis_prices(cloud):
    report = json.loads(status(cloud, "--json").stdout)
    (row,) = report["regions"][0]["clusters"]
    figures = row["cost"]
    assert figures["ingested_bytes"] == cloud.sent_bytes  # IncomingBytes: the uncompressed lines
    assert 0 < figures["forwarded_bytes"] < figures["ingested_bytes"]  # compressed, and filtered
    month = 730 * 3600 / 3600  # the default window is one hour
    assert figures["logs_ingestion"] == pytest.approx(cloud.sent_bytes * month / 1024**3 * 0.50, abs=1e-4)
    assert figures["total"] == pytest.approx(
        figures["logs_ingestion"] + figures["firehose"] + figures["s3"], abs=1e-3
    )
    assert figures["filter_saves"] > 0
    assert report["cost"]["prices"]["us-east-1"]["source"] == "AWS Price List API (us-east-1)"
    assert report["cost"]["total"]["total"] == pytest.approx(figures["total"], abs=1e-3)
    text = status(cloud).output
    assert "account total $" in text and "prices for us-east-1: AWS Price List API (us-east-1)" in text


def test_a_caller_who_may_not_read_prices_gets_the_table_and_the_reason(cloud, prices_restored):
    pricing_overlay.DENIED.add(ACCOUNT)
    text = status(cloud).output
    assert "prices for us-east-1: eks-audit's price table of" in text
    assert "AccessDeniedException (pricing:GetProducts)" in text


def test_a_price_in_another_currency_is_not_shown_as_dollars(cloud, prices_restored):
    for document in pricing_overlay.CATALOGUE:
        for term in document["terms"]["OnDemand"].values():
            for dimension in term["priceDimensions"].values():
                dimension["pricePerUnit"] = {"CNY": "3.5"}
    report = json.loads(status(cloud, "--json").stdout)
    used = report["cost"]["prices"]["us-east-1"]
    assert (
        used["source"].startswith("eks-audit's price table of") and "priced in CNY, not USD" in used["note"]
    )


def test_no_cost_skips_the_figures_and_the_price_list(cloud):
    before = sum(n for (_, service, _), n in cloud.gateway.calls.items() if service == "pricing")
    report = json.loads(status(cloud, "--json", "--no-cost").stdout)
    assert report["cost"] is None and report["regions"][0]["clusters"][0]["cost"] is None
    assert sum(n for (_, service, _), n in cloud.gateway.calls.items() if service == "pricing") == before
    assert "cost a month" not in status(cloud, "--no-cost").output


def test_the_prices_come_from_the_price_list_calls_counted_here(cloud):
    """The control for the test above: a status with cost does call the Price List API."""
    before = sum(n for (_, service, _), n in cloud.gateway.calls.items() if service == "pricing")
    status(cloud)
    assert sum(n for (_, service, _), n in cloud.gateway.calls.items() if service == "pricing") > before
