"""EC2 DescribeRegions as a commercial AWS account answers it, where moto 5.2.5 lists the regions of
every partition (aws-cn and aws-us-gov included), ignores AllRegions, and marks several opt-in
regions (af-south-1, ap-southeast-3, eu-south-1, ...) "opt-in-not-required".

After `install(opted_in)`, the answer holds the regions of the `aws` partition, read from botocore's
partition data. "AWS Regions introduced after March 20, 2019 ... are disabled by default"
(AWSCloudFormation/latest/UserGuide/stacksets-opt-in-regions.html, accounts/latest/reference/
manage-acct-regions.html): the regions launched before that date are "opt-in-not-required", every
later one is "opted-in" when the local cloud serves it (`--regions`) and "not-opted-in" otherwise.
Without AllRegions only the enabled ones are listed ("AllRegions: Indicates whether to display all
Regions, including Regions that are disabled for your account", API_DescribeRegions).
"""

from __future__ import annotations

from collections.abc import Iterable

# The regions AWS launched before 2019-03-20: enabled in every account. No machine-readable AWS source
# gives launch dates or opt-in status (the account API answers per account), hence this list.
OPT_IN_NOT_REQUIRED = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-south-1",
    }
)

_state: dict[str, frozenset[str]] = {"opted_in": frozenset()}
_installed = False


def commercial_regions() -> list[str]:
    from botocore.session import Session

    return Session().get_available_regions("ec2", partition_name="aws")


def opt_in_status(region: str) -> str:
    if region in OPT_IN_NOT_REQUIRED:
        return "opt-in-not-required"
    return "opted-in" if region in _state["opted_in"] else "not-opted-in"


def described(all_regions: bool) -> list[tuple[str, str]]:
    """(name, OptInStatus) as DescribeRegions lists them."""
    statuses = [(region, opt_in_status(region)) for region in commercial_regions()]
    return [(name, status) for name, status in statuses if all_regions or status != "not-opted-in"]


def install(opted_in: Iterable[str] = ()) -> None:
    """Answer DescribeRegions as above; the opt-in regions in `opted_in` are enabled."""
    global _installed
    _state["opted_in"] = frozenset(r for r in opted_in if r not in OPT_IN_NOT_REQUIRED)
    if _installed:
        return
    _installed = True
    from moto.core.responses import ActionResult
    from moto.ec2.models.availability_zones_and_regions import Region
    from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions

    def describe_regions(self) -> ActionResult:
        self.error_on_dryrun()
        names = set(self._get_param("RegionNames", []))
        regions = [
            Region(name, f"ec2.{name}.amazonaws.com", status)
            for name, status in described(self._get_bool_param("AllRegions", False))
            if not names or name in names
        ]
        return ActionResult({"Regions": regions})

    AvailabilityZonesAndRegions.describe_regions = describe_regions
