"""Which regions and stacks a command looks at, shared by `status` and `backfill`."""

from __future__ import annotations

from .stack import Deployments


def no_stack_anywhere(stack_name: str | None, regions: list[str]) -> str:
    named = f" named {stack_name!r}" if stack_name else ""
    return (
        f"eks-audit: no eks-audit stack{named} in {', '.join(regions)} or its home: deploy it "
        "(README, Deploying: `make build`, then `.venv-sam/bin/sam deploy --guided`), or name yours with --stack-name"
    )


def regions_to_look(
    regions: list[str], asked: bool, names: tuple[str, ...], deployments: Deployments
) -> list[str]:
    """With --cluster and no --region, the regions the deployments cover: a cluster anywhere else
    ships nowhere, and every other enabled region would only be asked in vain."""
    if names and not asked:
        return list(dict.fromkeys(r for home in deployments.homes.values() for r in home.covered_regions))
    return regions
