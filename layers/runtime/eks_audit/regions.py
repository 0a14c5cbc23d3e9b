"""The regions enabled for the account: what `SpokeRegions=ALL` covers and what the CLI looks at.

ec2:DescribeRegions without AllRegions lists only the regions enabled for the account; the
OptInStatus check keeps the answer right should a caller ask with AllRegions.
"""

from __future__ import annotations

from typing import Any


def enabled_regions(ec2: Any) -> list[str]:
    described = ec2.describe_regions(AllRegions=False)["Regions"]
    return sorted(r["RegionName"] for r in described if r.get("OptInStatus") != "not-opted-in")


def spoke_regions(ec2: Any, home: str) -> list[str]:
    """Every enabled region but the home one."""
    return [region for region in enabled_regions(ec2) if region != home]
