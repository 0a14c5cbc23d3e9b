"""`eks-audit`: the operator's command line. Global options come before the command."""

from __future__ import annotations

from dataclasses import dataclass

import click

from . import backfill, decode, explain, filter_test, local, status


@dataclass(frozen=True)
class Globals:
    regions: tuple[str, ...]
    profile: str | None
    endpoint_url: str | None
    json: bool


def _split_regions(_ctx, _param, values: tuple[str, ...]) -> tuple[str, ...]:
    regions = []
    for value in values:
        regions += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(regions))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--region",
    "--regions",
    "regions",
    multiple=True,
    callback=_split_regions,
    help="Region(s), comma-separated or repeated. Default: the profile's region.",
)
@click.option("--profile", help="AWS profile (the usual boto3 credential chain otherwise).")
@click.option("--endpoint-url", help="Send every AWS call here (the local cloud, say).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.version_option(package_name="eks-audit")
@click.pass_context
def cli(ctx: click.Context, regions, profile, endpoint_url, as_json) -> None:
    """Ship every EKS cluster's Kubernetes audit log to your security consumer."""
    ctx.obj = Globals(regions, profile, endpoint_url, as_json)


cli.add_command(status.command)
cli.add_command(backfill.command)
cli.add_command(filter_test.command)
cli.add_command(decode.command)
cli.add_command(explain.command)
cli.add_command(local.group)
