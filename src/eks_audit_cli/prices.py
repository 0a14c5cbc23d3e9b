"""The prices the cost figures use: read from the AWS Price List Query API (`pricing` GetProducts)
where the caller may, otherwise from the table shipped here; the result always says which.

Three prices, each the first tier of its product (docs/cost.md):
- CloudWatch Logs standard ingestion, USD per GB (usage type `<prefix>-DataProcessing-Bytes`).
  AWS's EKS page says control-plane logs are charged "the standard CloudWatch Logs data ingestion
  and storage costs"; some bills show them as vended logs (`VendedLog-Bytes`), whose first tier
  (10 TB a month) has the same price: the two answers agree below that volume.
- Firehose Direct PUT ingestion, USD per GB (`<prefix>-BilledBytes`), each record rounded up to 5 KB.
- S3 Standard storage, USD per GB-month (`<prefix>-TimedStorage-ByteHrs`).

No well-kept library reads these three prices (the Price List's product attributes are per service
and undocumented as a schema), so the reading is written here; a price in another currency or unit
is never taken for dollars per GB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eks_audit.errors import error_code

# The shipped table: us-east-1's first-tier prices, and where each comes from.
TABLE_DATE = "2026-12-05"
TABLE_REGION = "us-east-1"
TABLE = {
    "logs_ingestion_gb": 0.50,  # aws.amazon.com/cloudwatch/pricing (Logs, Standard, collect)
    "firehose_ingestion_gb": 0.029,  # aws.amazon.com/firehose/pricing (Direct PUT, first 500 TB)
    "s3_storage_gb_month": 0.023,  # aws.amazon.com/s3/pricing (S3 Standard, first 50 TB)
}
TABLE_PAGES = (
    "aws.amazon.com/cloudwatch/pricing",
    "aws.amazon.com/firehose/pricing",
    "aws.amazon.com/s3/pricing",
)

# price -> (ServiceCode, usage type after the region's prefix, the unit it must be in)
PRODUCTS = {
    "logs_ingestion_gb": ("AmazonCloudWatch", "DataProcessing-Bytes", "GB"),
    "firehose_ingestion_gb": ("AmazonKinesisFirehose", "BilledBytes", "GB"),
    "s3_storage_gb_month": ("AmazonS3", "TimedStorage-ByteHrs", "GB-Mo"),
}
# the Price List Query API's endpoints by partition (the API is served from a few regions only)
PRICING_REGION = {"aws": "us-east-1", "aws-cn": "cn-northwest-1"}


class PriceFormatError(ValueError):
    """A price-list document eks-audit cannot read as a first-tier USD price in the expected unit."""


@dataclass(frozen=True)
class Prices:
    region: str
    logs_ingestion_gb: float
    firehose_ingestion_gb: float
    s3_storage_gb_month: float
    source: str  # what was used, said in every output
    note: str | None = None  # why the table was used instead of the API

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def table_prices(region: str, why: str | None = None) -> Prices:
    note = why
    if region != TABLE_REGION:
        away = f"the table has {TABLE_REGION}'s prices only, used for {region}"
        note = f"{note}; {away}" if note else away
    source = f"eks-audit's price table of {TABLE_DATE} ({', '.join(TABLE_PAGES)})"
    return Prices(region, **TABLE, source=source, note=note)


def first_tier_usd(document: dict[str, Any], unit: str) -> float:
    """The price of the first tier (beginRange 0) of the on-demand terms, in USD per `unit`."""
    try:
        terms = document["terms"]["OnDemand"]
        dimensions = [d for term in terms.values() for d in term["priceDimensions"].values()]
    except (KeyError, TypeError, AttributeError):
        raise PriceFormatError("no on-demand price dimensions") from None
    first = [d for d in dimensions if str(d.get("beginRange", "0")) in ("0", "0.0")]
    if not first:
        raise PriceFormatError("no tier beginning at 0")
    dimension = first[0]
    if dimension.get("unit") != unit:
        raise PriceFormatError(f"priced per {dimension.get('unit')!r}, not per {unit}")
    per_unit = dimension.get("pricePerUnit") or {}
    if "USD" not in per_unit:
        raise PriceFormatError(f"priced in {', '.join(per_unit) or 'no currency'}, not USD")
    try:
        return float(per_unit["USD"])
    except (TypeError, ValueError):
        raise PriceFormatError(f"price {per_unit['USD']!r} is not a number") from None


def read_price(pricing: Any, region: str, key: str) -> float:
    """One price from GetProducts; raises PriceFormatError when none can be read."""
    service, usage, unit = PRODUCTS[key]
    usage_pattern = rf"(?:[A-Z0-9]+-)?{re.escape(usage)}"  # not VendedLog-Bytes, not IA, ...
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "CONTAINS", "Field": "usagetype", "Value": usage},
    ]
    documents = []
    for page in pricing.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters):
        documents += [
            json.loads(item) if isinstance(item, str) else item for item in page.get("PriceList", [])
        ]
    wanted = [
        d
        for d in documents
        if re.fullmatch(usage_pattern, str(d.get("product", {}).get("attributes", {}).get("usagetype", "")))
        and d.get("product", {}).get("attributes", {}).get("volumeType", "Standard") == "Standard"
    ]
    if not wanted:
        raise PriceFormatError(f"no {service} product for {region}")
    return first_tier_usd(wanted[0], unit)


def read_prices(pricing_client: Callable[[str], Any], partition: str, region: str) -> Prices:
    """Prices for `region`: the Price List API's, or the table's with the reason."""
    api_region = PRICING_REGION.get(partition)
    if api_region is None:
        return table_prices(region, f"the Price List API serves no endpoint in partition {partition}")
    try:
        pricing = pricing_client(api_region)
        found = {key: read_price(pricing, region, key) for key in PRODUCTS}
    except ClientError as exc:
        return table_prices(region, f"the Price List API answered {error_code(exc)} (pricing:GetProducts)")
    except BotoCoreError as exc:
        return table_prices(region, f"the Price List API could not be reached ({exc})")
    except (PriceFormatError, ValueError) as exc:  # ValueError: a document that is not JSON
        return table_prices(region, f"the Price List API's answer was not usable: {exc}")
    return Prices(region, **found, source=f"AWS Price List API ({api_region})")
