"""`eks-audit org template`: the member accounts' home stack for org.yaml (README, An AWS Organization)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("org")
def group() -> None:
    """The organization deploy (org.yaml)."""


@group.command("template")
@click.argument("packaged", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".aws-sam/org/member.yaml"),
    show_default=True,
    help="Where org.yaml's member StackSet finds it (its TemplateURL).",
)
@click.option(
    "--region", default="us-east-1", show_default=True, help="The home region (the translator asks)."
)
def template(packaged: Path, output: Path, region: str) -> None:
    """Write PACKAGED (the output of `sam package` of template.yaml) as plain CloudFormation: a
    service-managed StackSet's default execution role accepts no transform."""
    try:
        from eks_audit_templates.org import member_template
    except ImportError:
        click.echo(
            "eks-audit org template: needs aws-sam-translator (pip install 'eks-audit[org]')", err=True
        )
        sys.exit(2)
    try:
        document = member_template(packaged.read_text(), region)
    except ValueError as exc:
        click.echo(f"eks-audit org template: {exc}", err=True)
        sys.exit(2)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1))  # JSON is YAML: CloudFormation reads either
    resources = document.get("Resources", {})
    click.echo(f"wrote {output}: {len(resources)} resources, no transform", err=True)
