"""`eks-audit explain`: what the controller does with one event."""

from __future__ import annotations

import json
import sys

import click

from eks_audit.intake import Ignore, MalformedMessage, parse_message

from .options import global_options


def decision_json(message: object, default_region: str | None = None) -> dict:
    decision = parse_message(message, default_region=default_region)
    if isinstance(decision, Ignore):
        return {"action": "ignore", "reason": decision.reason}
    return {"action": "reconcile", **decision.to_message()}


@click.command("explain")
@click.argument("event", type=click.File("rb"), default="-")
@global_options(only=("regions",))
@click.pass_obj
def command(globals_, event) -> None:
    """Print, as JSON, what the controller does with EVENT (a file, or - for standard input)."""
    raw = event.read()
    default_region = globals_.regions[0] if globals_.regions else None
    try:
        result = decision_json(raw, default_region)
    except MalformedMessage as exc:
        click.echo(f"eks-audit explain: malformed event: {exc}", err=True)
        sys.exit(2)
    click.echo(json.dumps(result, indent=None if globals_.json else 2))
