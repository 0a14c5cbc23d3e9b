"""The global options (--region/--regions, --profile, --endpoint-url, --json), accepted before the
command and after it, as the aws CLI and kubectl accept theirs: `eks-audit status --region x` and
`eks-audit --region x status` are the same.

The group parses them before the command; every command declares them again (`global_options`), and
what it parses lands in the same `Globals` object, so the commands read one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

REGION_HELP = (
    "Region(s), comma-separated or repeated. Default: every region enabled for the account (status, "
    "backfill); the profile's region for single-region calls (decode, filter-test --check-with-aws); "
    "us-east-1 as the home region of `local serve`."
)


@dataclass
class Globals:
    regions: tuple[str, ...] = ()
    profile: str | None = None
    endpoint_url: str | None = None
    json: bool = False


def split_regions(values: tuple[str, ...]) -> tuple[str, ...]:
    regions = []
    for value in values:
        regions += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(regions))


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that records a value given after the command (a default leaves the group's)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value in (None, (), False):
            return None
        globals_ = ctx.ensure_object(Globals)
        if attribute == "regions":
            value = tuple(dict.fromkeys(globals_.regions + split_regions(value)))
        setattr(globals_, attribute, value)

    return callback


def global_options(command: Callable) -> Callable:
    """Declare the global options on a group or command; they fill the shared Globals."""
    options = [
        click.option(
            "--region",
            "--regions",
            "regions",
            multiple=True,
            expose_value=False,
            callback=_store("regions"),
            help=REGION_HELP,
        ),
        click.option(
            "--profile",
            expose_value=False,
            callback=_store("profile"),
            help="AWS profile (else the usual credential chain).",
        ),
        click.option(
            "--endpoint-url",
            expose_value=False,
            callback=_store("endpoint_url"),
            help="Send every AWS call here (the local cloud, say).",
        ),
        click.option(
            "--json",
            "json_",
            is_flag=True,
            expose_value=False,
            callback=_store("json"),
            help="Machine-readable JSON output.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


home_region_option = click.option(
    "--home-region",
    envvar="EKS_AUDIT_HOME_REGION",
    help="The region of the eks-audit stack (its spokes' regions are covered by it). Default: looked for "
    "in the regions asked about and the profile's region, then in every enabled region.",
)
