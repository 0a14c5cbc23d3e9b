"""`eks-audit`: the operator's command line. Global options go before or after the command."""

from __future__ import annotations

import os

import click

from eks_audit.ratelimit import parse_rates

from . import backfill, consumer, decode, doctor, explain, filter_test, local, org_cli, status, tail
from .errors import AwsCliGroup
from .options import Globals, global_options


@click.group(
    cls=AwsCliGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@global_options(verbose=True)
@click.version_option(package_name="eks-audit")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ship every EKS cluster's Kubernetes audit log to your security consumer."""
    ctx.ensure_object(Globals)
    parse_rates(os.environ.get("RATE_LIMITS", ""))  # bad input is said before any AWS call


cli.add_command(status.command)
cli.add_command(doctor.command)
cli.add_command(backfill.command)
cli.add_command(filter_test.command)
cli.add_command(decode.command)
cli.add_command(explain.command)
cli.add_command(tail.command)
cli.add_command(local.group)
cli.add_command(consumer.group)
cli.add_command(org_cli.group)
