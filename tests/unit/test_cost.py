"""Cost figures: the arithmetic per stage (worked by hand below), and the prices' reading."""

import json

import pytest
from botocore.exceptions import ClientError

from eks_audit_cli import cost, prices
from eks_audit_local.pricing_overlay import product

GB = 1024**3
USE1 = prices.Prices("us-east-1", 0.50, 0.029, 0.023, source="test")


def test_each_stage_by_hand():
    # 1 GB ingested and 0.1 GB forwarded in an hour, a quarter of the events kept, 30 days in S3
    found = cost.estimate(
        ingested_bytes=GB,
        forwarded_bytes=0.1 * GB,
        received_events=4000,
        forwarded_events=1000,
        window_s=3600,
        prices=USE1,
        expiry_days=30,
    )
    assert found.logs_ingestion == pytest.approx(730 * 0.50)  # 730 GB a month
    assert found.firehose == pytest.approx(73 * 0.029)  # 73 GB a month
    assert found.s3 == pytest.approx(2.4 * 30 * 0.023)  # 2.4 GB a day, 30 days kept
    assert found.total == pytest.approx(365 + 2.117 + 1.656)
    assert found.filter_saves == pytest.approx((2.117 + 1.656) * 3)  # 3 of 4 events dropped


def test_nothing_forwarded_means_no_estimate_of_the_savings():
    found = cost.estimate(
        ingested_bytes=GB,
        forwarded_bytes=0,
        received_events=10,
        forwarded_events=0,
        window_s=3600,
        prices=USE1,
        expiry_days=30,
    )
    assert found.filter_saves is None and found.firehose == 0


@pytest.mark.parametrize(
    ("stream_bytes", "records", "expected"),
    [
        (3 * 1024 * 100, 100, 5 / 3),  # 3 KB records are billed as 5 KB
        (12 * 1024 * 10, 10, 15 / 12),  # 12 KB as 15 KB
        (10 * 1024, 2, 1.0),  # 5 KB exactly
        (None, None, 1.0),  # nothing to tell
    ],
)
def test_firehose_rounds_each_record_up_to_5_kb(stream_bytes, records, expected):
    assert cost.firehose_rounding(stream_bytes, records) == pytest.approx(expected)


def document(unit="GB", currency="USD", usage="USE1-DataProcessing-Bytes", tiers=(("0", "Inf", "0.5"),)):
    return product(
        "AmazonCloudWatch",
        "SKU",
        {"regionCode": "us-east-1", "usagetype": usage},
        list(tiers),
        unit,
        currency,
    )


def test_the_first_tier_in_usd_per_gb_is_read():
    assert (
        prices.first_tier_usd(document(tiers=(("10240", "Inf", "0.25"), ("0", "10240", "0.5"))), "GB") == 0.5
    )


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        (document(currency="CNY"), "priced in CNY, not USD"),
        (document(unit="Hrs"), "priced per 'Hrs', not per GB"),
        (document(tiers=(("10", "Inf", "0.5"),)), "no tier beginning at 0"),
        ({"product": {}}, "no on-demand price dimensions"),
    ],
)
def test_a_price_in_another_currency_or_unit_is_never_taken_for_dollars_per_gb(doc, says):
    with pytest.raises(prices.PriceFormatError, match=says):
        prices.first_tier_usd(doc, "GB")


class FakePricing:
    def __init__(self, documents=None, error=None):
        self.documents, self.error = documents or [], error

    def get_paginator(self, name):
        assert name == "get_products"
        return self

    def paginate(self, ServiceCode, Filters):
        if self.error:
            raise self.error
        wanted = [d for d in self.documents if d["serviceCode"] == ServiceCode]
        return [{"PriceList": [json.dumps(d) for d in wanted]}]


def test_the_standard_ingestion_price_is_read_not_the_vended_one():
    documents = [
        document(usage="USE1-VendedLog-Bytes", tiers=(("0", "10240", "0.7"),)),
        document(usage="USE1-DataProcessing-Bytes", tiers=(("0", "Inf", "0.5"),)),
    ]
    assert prices.read_price(FakePricing(documents), "us-east-1", "logs_ingestion_gb") == 0.5


def test_a_denied_price_list_falls_back_to_the_table_and_says_why():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetProducts")
    found = prices.read_prices(lambda region: FakePricing(error=denied), "aws", "us-east-1")
    assert found.source.startswith("eks-audit's price table of")
    assert "AccessDeniedException" in found.note and "pricing:GetProducts" in found.note
    assert found.logs_ingestion_gb == prices.TABLE["logs_ingestion_gb"]


def test_the_table_says_when_it_stands_in_for_another_region():
    found = prices.read_prices(lambda region: FakePricing(), "aws", "eu-west-1")  # no product there
    assert "no AmazonCloudWatch product for eu-west-1" in found.note
    assert "us-east-1's prices only, used for eu-west-1" in found.note


def test_a_partition_without_the_price_list_uses_the_table():
    found = prices.read_prices(lambda region: pytest.fail("no call expected"), "aws-us-gov", "us-gov-west-1")
    assert "no endpoint in partition aws-us-gov" in found.note
