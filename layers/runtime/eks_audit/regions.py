"""The regions enabled for the account: what `SpokeRegions` covers and what the CLI looks at.

ec2:DescribeRegions without AllRegions lists only the regions enabled for the account; with it, every
region with its OptInStatus: "opt-in-not-required", "opted-in" or "not-opted-in" (API_DescribeRegions).
A region that is disabled by default and enabled for the account ("opted-in") is reached by AWS's
services under their regional principals (`cloudformation.<region>.amazonaws.com`,
`sns.<region>.amazonaws.com`: stacksets-opt-in-regions.html, sns-cross-region-delivery.html).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

OPTED_IN = "opted-in"
NOT_OPTED_IN = "not-opted-in"


class RegionsError(ValueError):
    """SpokeRegions names a region this account cannot deploy to; the text says which and why."""


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's partition data (endpoints.json)."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )


def enabled_regions(ec2: Any) -> list[str]:
    described = ec2.describe_regions(AllRegions=False)["Regions"]
    return sorted(r["RegionName"] for r in described if r.get("OptInStatus") != NOT_OPTED_IN)


@dataclass(frozen=True)
class Coverage:
    """The spoke regions of a deployment and which of its regions (home included) are opt-in ones."""

    home: str
    spokes: tuple[str, ...]
    opted_in: tuple[str, ...]

    def service_principals(self, service: str) -> list[str]:
        """The principals `service` reaches this deployment's regions under: the global one, and
        the regional one of each opt-in region."""
        return [f"{service}.amazonaws.com", *(f"{service}.{r}.amazonaws.com" for r in self.opted_in)]

    def attributes(self) -> dict[str, str]:
        """What the custom resource EnabledRegions gives the template (comma-separated lists)."""
        return {
            "Spokes": ",".join(self.spokes),
            "CloudFormationPrincipals": ",".join(self.service_principals("cloudformation")),
            "SnsPrincipals": ",".join(self.service_principals("sns")),
            # CloudWatch Logs assumes a subscription's role under its regional principal, in each spoke
            "LogsPrincipals": ",".join(f"logs.{region}.amazonaws.com" for region in self.spokes),
        }


def resolve_coverage(ec2: Any, home: str, requested: str) -> Coverage:
    """`requested` is the SpokeRegions parameter: ALL (every enabled region) or a comma-separated list,
    each of which must be enabled for the account (StackSets need it enabled: stacksets-opt-in-regions)."""
    if not requested.strip():  # this region alone: nothing to read
        return Coverage(home=home, spokes=(), opted_in=())
    statuses = {
        r["RegionName"]: r.get("OptInStatus", "opt-in-not-required")
        for r in ec2.describe_regions(AllRegions=True)["Regions"]
    }
    if requested.strip().upper() == "ALL":
        spokes = [r for r in sorted(statuses) if statuses[r] != NOT_OPTED_IN and r != home]
    else:
        named = list(dict.fromkeys(r.strip() for r in requested.split(",") if r.strip()))
        unknown = [r for r in named if r not in statuses]
        if unknown:
            raise RegionsError(
                f"SpokeRegions names {', '.join(unknown)}: no such region in this account's partition"
            )
        disabled = [r for r in named if statuses[r] == NOT_OPTED_IN]
        if disabled:
            raise RegionsError(
                f"SpokeRegions names {', '.join(disabled)}, not enabled for this account: enable "
                "it (AWS Account Management, Regions) or take it out of SpokeRegions"
            )
        spokes = [r for r in named if r != home]
    if not spokes:
        raise RegionsError(f"no region but {home} to cover: set SpokeRegions to empty")
    opted_in = tuple(r for r in (home, *spokes) if statuses.get(r) == OPTED_IN)
    return Coverage(home=home, spokes=tuple(spokes), opted_in=opted_in)


def check_key_region(key_arn: str, region: str) -> None:
    """KmsKeyArn must name a key of the stack's region: a KMS key is usable only in its own region
    (kms/latest/developerguide/multi-region-keys-overview.html; a multi-Region key's replica in this
    region has an ARN of this region). The template's AllowedPattern has checked the ARN's shape."""
    if not key_arn:
        return
    key_region = key_arn.split(":")[3] if key_arn.count(":") >= 5 else ""
    if key_region != region:
        raise RegionsError(
            f"KmsKeyArn names a key of {key_region or 'no region'}, and this stack is in {region}: a KMS "
            f"key is usable only in its own region; give a key of {region} (a multi-Region key's replica "
            "there will do)"
        )
