"""Enough of the AWS Price List Query API (`pricing` GetProducts) for eks-audit's cost figures;
moto 5.2.5 has no `pricing` service.

What it serves, as AWS documents it (awsaccountbilling/latest/aboutv2/price-list-query-api.html,
the GetProducts API reference and its example response):
- GetProducts with a ServiceCode and Filters of the types botocore's model lists (TERM_MATCH and
  EQUALS: the attribute equals the value; CONTAINS; ANY_OF and NONE_OF: comma-separated values),
  over each product's attributes;
- the answer `{"FormatVersion": "aws_v1", "PriceList": [<one JSON document per product, as a
  string>]}`, each document with `product.attributes` and `terms.OnDemand.<sku>.<offer term>
  .priceDimensions.<rate code>` holding unit, beginRange, endRange and pricePerUnit by currency;
- an account that may not read prices gets AccessDeniedException with IAM's wording.

The catalogue is this module's own, not eks-audit's table: us-east-1's first-tier prices as public
price lists show them (CloudWatch Logs standard ingestion 0.50 USD per GB, Firehose Direct PUT 0.029
per GB in tiers, S3 Standard 0.023 per GB-month; docs/cost.md names the pages). A region it has no
product for answers an empty PriceList, as the API does for a filter nothing matches. Tests replace
or extend `CATALOGUE` (another currency, another unit) and fill `DENIED`.
"""

from __future__ import annotations

import json
from typing import Any

Answer = tuple[int, dict[str, Any]]
OFFER_TERM = "JRTCKXETXF"  # the on-demand offer term code of AWS's price lists


def product(
    service: str,
    sku: str,
    attributes: dict[str, str],
    tiers: list[tuple[str, str, str]],
    unit: str,
    currency: str = "USD",
) -> dict[str, Any]:
    """One price-list document: `tiers` are (beginRange, endRange, price)."""
    term = f"{sku}.{OFFER_TERM}"
    dimensions = {
        f"{term}.{index:010d}": {
            "unit": unit,
            "beginRange": begin,
            "endRange": end,
            "description": f"{attributes.get('usagetype', '')} {begin}-{end} {unit}",
            "appliesTo": [],
            "rateCode": f"{term}.{index:010d}",
            "pricePerUnit": {currency: price},
        }
        for index, (begin, end, price) in enumerate(tiers)
    }
    return {
        "product": {"sku": sku, "attributes": {"servicecode": service, **attributes}},
        "serviceCode": service,
        # keyed "<sku>.<offer term>", as in the GetProducts reference's example response
        "terms": {
            "OnDemand": {term: {"offerTermCode": OFFER_TERM, "sku": sku, "priceDimensions": dimensions}}
        },
        "version": "local",
        "publicationDate": "2026-12-01T00:00:00Z",
    }


def _default_catalogue() -> list[dict[str, Any]]:
    region = {"regionCode": "us-east-1", "location": "US East (N. Virginia)"}
    return [
        product(
            "AmazonCloudWatch",
            "LOCALCWLINGEST",
            {**region, "usagetype": "USE1-DataProcessing-Bytes", "productFamily": "Data Payload"},
            [("0", "Inf", "0.5000000000")],
            "GB",
        ),
        product(  # a vended-log ingestion product: eks-audit must not take it for the standard price
            "AmazonCloudWatch",
            "LOCALCWLVENDED",
            {**region, "usagetype": "USE1-VendedLog-Bytes", "productFamily": "Data Payload"},
            [("0", "10240", "0.5000000000"), ("10240", "30720", "0.2500000000")],
            "GB",
        ),
        product(
            "AmazonKinesisFirehose",
            "LOCALFHINGEST",
            {**region, "usagetype": "USE1-BilledBytes", "productFamily": "Kinesis Firehose"},
            [("0", "512000", "0.0290000000"), ("512000", "2048000", "0.0250000000")],
            "GB",
        ),
        product(
            "AmazonS3",
            "LOCALS3STANDARD",
            {
                **region,
                "usagetype": "USE1-TimedStorage-ByteHrs",
                "volumeType": "Standard",
                "productFamily": "Storage",
            },
            [("0", "51200", "0.0230000000"), ("51200", "512000", "0.0220000000")],
            "GB-Mo",
        ),
    ]


CATALOGUE: list[dict[str, Any]] = _default_catalogue()
DENIED: set[str] = set()  # accounts whose callers may not call pricing:GetProducts


def reset() -> None:
    CATALOGUE[:] = _default_catalogue()
    DENIED.clear()


def _matches(attributes: dict[str, str], flt: dict[str, str]) -> bool:
    value, wanted, kind = attributes.get(flt.get("Field", "")), flt.get("Value", ""), flt.get("Type")
    if kind in ("TERM_MATCH", "EQUALS"):
        return value == wanted
    if kind == "CONTAINS":
        return value is not None and wanted in value
    if kind == "ANY_OF":
        return value in wanted.split(",")
    if kind == "NONE_OF":
        return value not in wanted.split(",")
    return False


def answer(target: str, body: bytes, account: str) -> Answer | None:
    """The response to a Price List call, or None for an operation this overlay does not serve."""
    if target.rsplit(".", 1)[-1] != "GetProducts":
        return None
    if account in DENIED:
        message = (
            f"User: arn:aws:iam::{account}:user/local is not authorized to perform: pricing:GetProducts "
            "because no identity-based policy allows the pricing:GetProducts action"
        )
        return 400, {"__type": "AccessDeniedException", "Message": message}
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        return 400, {"__type": "InvalidParameterException", "Message": "the body is not JSON"}
    service, filters = request.get("ServiceCode"), request.get("Filters") or []
    found = [
        json.dumps(document)
        for document in CATALOGUE
        if document["serviceCode"] == service
        and all(_matches(document["product"]["attributes"], flt) for flt in filters)
    ]
    return 200, {"FormatVersion": "aws_v1", "PriceList": found}
