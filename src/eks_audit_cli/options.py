"""The global options (--region/--regions, --profile, --endpoint-url, --json), accepted before the
command and after it, as the aws CLI and kubectl accept theirs: `eks-audit status --region x` and
`eks-audit --region x status` are the same.

The group parses them before the command; every command declares them again (`global_options`), and
what it parses lands in the same `Globals` object, so the commands read one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click

from eks_audit.regions import known_regions

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
    verbose: bool = False


def split_regions(values: tuple[str, ...]) -> tuple[str, ...]:
    regions = []
    for value in values:
        regions += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(regions))


def region_patterns() -> list[re.Pattern[str]]:
    """Each partition's regionRegex from botocore's partition data: the shape of its region names."""
    import botocore.session

    return [
        re.compile(p["regionRegex"])
        for p in botocore.session.get_session().get_data("endpoints")["partitions"]
    ]


def region_problem(region: str, known: set[str]) -> str | None:
    """Why `region` names no AWS region, with the nearest name; None when it does. A name of a
    partition's shape that is no typo of a known one (only its number differs, or it is far from
    every known name) may be a region newer than this botocore: AWS, not this check, decides."""
    if region in known or region == "all":
        return None
    if region.lower() in known:
        return f"no region named {region!r}: region names are lower case ({region.lower()})"
    distance, nearest = min((edit_distance(region, name), name) for name in known)
    typo = distance <= 2 and region.rsplit("-", 1)[0] != nearest.rsplit("-", 1)[0]
    if not typo and any(pattern.match(region) for pattern in region_patterns()):
        return None
    hint = f": did you mean {nearest}?" if distance <= 2 else " (see `aws ec2 describe-regions`)"
    return f"no region named {region!r}{hint}"


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and transpositions
    of neighbours each cost 1 (a typo such as us-esat-1 is one step from us-east-1). Written here:
    difflib's ratio prefers us-west-1 for it, and no standard-library function counts transpositions."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def endpoint_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    example = url if "://" in url else f"http://{url}"
    return f"--endpoint-url {url}: give a URL with its scheme and host, such as {example}"


def _refuse(ctx: click.Context, message: str) -> None:
    """Bad input: one line on stderr and exit 2, before any AWS call."""
    click.echo(f"eks-audit: {message}", err=True)
    ctx.exit(2)


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that records a value given after the command: the later value wins over the one
    given before the command (a default leaves the group's)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value in (None, (), False):
            return None
        globals_ = ctx.ensure_object(Globals)
        if attribute == "regions":
            value = split_regions(value)
            known = known_regions()
            for region in value:
                problem = region_problem(region, known)
                if problem:
                    _refuse(ctx, problem)
        if attribute == "endpoint_url":
            problem = endpoint_problem(value)
            if problem:
                _refuse(ctx, problem)
        setattr(globals_, attribute, value)

    return callback


def global_options(
    command: Callable | None = None, *, only: tuple[str, ...] | None = None, verbose: bool = False
) -> Callable:
    """Declare the global options on a group or command; they fill the shared Globals. A command
    declares `only` those it uses (`@global_options(only=("regions",))`): an option that would do
    nothing is not offered after the command. `--verbose` is offered where it says something."""
    if command is None:
        return lambda decorated: global_options(decorated, only=only, verbose=verbose)
    names = ("regions", "profile", "endpoint_url", "json", "verbose")
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
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            expose_value=False,
            callback=_store("verbose"),
            help="Say more on standard error: the API rates used per region and where they came from.",
        ),
    ]
    for name, option in reversed(list(zip(names, options, strict=True))):
        if name == "verbose" and not verbose:
            continue
        if only is None or name in only:
            command = option(command)
    return command


home_region_option = click.option(
    "--home-region",
    envvar="EKS_AUDIT_HOME_REGION",
    help="The region of the eks-audit stack (its spokes' regions are covered by it). Default: looked for "
    "in the regions asked about and the profile's region, then in every enabled region.",
)

stack_name_option = click.option(
    "--stack-name",
    default=None,
    envvar="EKS_AUDIT_STACK",
    help="The eks-audit stack (default: the one that declares itself, by its EksAuditStack output, "
    "whatever its name).",
)
