"""`eks-audit status`: which clusters ship their audit log, which do not, and why."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import click
from botocore.exceptions import BotoCoreError, ClientError

from eks_audit.concurrency import in_parallel
from eks_audit.sweep import list_cluster_names

from . import aws_features, cost, delivery_health, event_path, json_stream, pipeline_parts, prices
from .aws_evaluator import pattern_refusal
from .coverage import Row, cluster_row, columns, render_table, with_delivery
from .errors import CANNOT_RUN, denied_by_scp, is_fatal
from .options import global_options, home_region_option, stack_name_option
from .org import (
    DEFAULT_ORG_STACK_NAME,
    AccountCoverage,
    no_org_stack,
    not_covered,
    org_coverage,
    org_ok,
    read_members,
)
from .scope import no_stack_anywhere, regions_to_look
from .session import Aws
from .stack import Deployments, StackNotFound, find_deployments, placeholder_settings
from .words import counted

IN_SCOPE_OK = {"compliant"}
OUT_OF_SCOPE = {"skipped", "gone"}


@dataclass
class RegionStatus:
    region: str
    rows: list[Row] = field(default_factory=list)
    stack: str | None = None
    problem: str | None = None
    pipeline: dict | None = None
    event_path: event_path.EventPath | None = None
    features: list[aws_features.Finding] = field(default_factory=list)
    prices: prices.Prices | None = None  # when the cost figures were asked for
    denied_by_policy: str | None = None  # a service control policy refuses the region: AWS's words

    def add_problem(self, problem: str) -> None:
        self.problem = f"{self.problem}; {problem}" if self.problem else problem


def region_status(
    aws: Aws,
    region: str,
    deployments: Deployments,
    names: tuple[str, ...],
    window_s: float = 0,
    with_cost: bool = False,
    organization_rules: bool = True,
) -> RegionStatus:
    """`organization_rules`: also read the organization's telemetry rules with these credentials
    (status --org reads them once, as the administering account, not through each member's role)."""
    result = RegionStatus(region)
    add_event_path(aws, result, deployments, window_s)
    add_aws_features(aws, result, deployments, organization_rules)
    try:
        clusters = list(names) or list(list_cluster_names(aws.client("eks", region)))
    except Exception as exc:  # one unreachable region must not hide the others ...
        if is_fatal(exc):  # ... but no credentials or no network is one problem, said once
            raise
        if denied_by_scp(exc):  # the organization forbids the region: nothing to cover, no fault
            result.denied_by_policy = str(exc)
            return result
        result.problem = f"cannot list clusters: {exc}"
        return result
    if not clusters:
        return result
    uncovered = None
    try:
        settings = deployments.settings_for(region)
        result.stack = deployments.home_of(region).name  # settings_for found it
    except StackNotFound as exc:
        result.problem = uncovered = str(exc)
        settings = placeholder_settings(region)
    api = aws.cluster_api(region, read_only=True)
    result.rows = in_parallel(
        lambda name: cluster_row(api, settings, name, region), sorted(clusters), workers=4
    )
    if uncovered:  # no stack covers the region: nothing here ships, whatever the cluster's state
        result.rows = [
            replace(row, verdict="uncovered", reason=uncovered) if row.verdict != "gone" else row
            for row in result.rows
        ]
    home = deployments.home_of(region) if result.stack else None
    if result.stack and window_s:
        topic = home.topic_name(region) if home is not None else None
        add_delivery(aws.client("cloudwatch", region), result, settings, int(window_s), topic)
        if with_cost and home is not None:
            add_cost(aws, result, home, int(window_s))
    if home is not None and {"BucketName", "TopicArn"} <= home.outputs.keys():
        bucket, _prefix = home.delivery_location(region)
        broken = pipeline_parts.broken_parts(
            aws.client, region, settings.firehose_arn, home.topic_arn(region), bucket
        )
        if broken:
            result.add_problem(f"delivery pipeline broken: {'; '.join(broken)}")
            result.rows = with_broken_pipeline(result.rows, broken)
    if result.stack and (refusal := pattern_refusal(aws.client("logs", region), settings.filter_pattern)):
        # AWS's engine is the judge: the controller's PutSubscriptionFilter gets the same answer
        refused = f"CloudWatch Logs refuses the stack's FilterPattern: {refusal}"
        result.add_problem(refused)
        result.rows = [
            replace(row, reason=f"{row.reason}; the filter cannot be put: {refused}")
            if row.our_filter != "ok" and row.verdict == "drifted"
            else row
            for row in result.rows
        ]
    return result


def add_event_path(aws: Aws, result: RegionStatus, deployments: Deployments, window_s: float) -> None:
    """Whether CloudTrail events reach the controller in a covered region (event_path.py): a region
    whose events cannot arrive is a problem, named with its cause and what follows from it."""
    home = deployments.home_of(result.region)
    target = home.events_target(result.region) if home is not None else None
    if target is None:
        return
    result.event_path = event_path.check(
        aws.client, result.region, target, home.sweep_schedule, int(window_s)
    )
    if result.event_path.ok is False:
        result.add_problem(result.event_path.cause)


def add_aws_features(
    aws: Aws, result: RegionStatus, deployments: Deployments, organization_rules: bool = True
) -> None:
    """AWS's own features that touch a covered region's EKS audit logs (aws_features.py): the
    account's and the organization's telemetry rules (both regional) and Security Lake. A member
    account may not list the organization's rules: that is said once, with the home region's."""
    home = deployments.home_of(result.region)
    if home is not None and "FirehoseArn" in home.outputs:
        organization = (
            aws_features.organization_telemetry_rules(aws.client, result.region)
            if organization_rules
            else None
        )
        said = organization is not None and (organization.found is not None or result.region == home.region)
        result.features = [
            aws_features.telemetry_rules(aws.client, result.region),
            *([organization] if said else []),
            aws_features.security_lake(aws.client, result.region, home.account),
        ]


def add_delivery(cloudwatch, result: RegionStatus, settings, window_s: int, topic: str | None = None) -> None:
    """Delivery per cluster whose log group exists (CloudWatch metrics, one batched call), and the
    region's stream health."""
    asked = [row.cluster for row in result.rows if row.log_group == "present"]
    stream = settings.firehose_arn.rsplit("/", 1)[1]
    try:
        deliveries = delivery_health.fetch(cloudwatch, asked, settings.filter_name, window_s)
        result.pipeline = delivery_health.pipeline(cloudwatch, stream, window_s, topic_name=topic)
    except (ClientError, BotoCoreError) as exc:  # the clusters' configuration still stands
        if is_fatal(exc):
            raise
        result.add_problem(f"delivery not read (cloudwatch:GetMetricData): {exc}")
        return
    result.rows = [
        with_delivery(row, deliveries[row.cluster]) if row.cluster in deliveries else row
        for row in result.rows
    ]
    if result.pipeline["problem"]:
        result.add_problem(f"delivery pipeline: {result.pipeline['problem']}")


def add_cost(aws: Aws, result: RegionStatus, home, window_s: int) -> None:
    """Each cluster's monthly cost at the window's rate (cost.py), at the region's prices."""
    result.prices = prices.read_prices(lambda r: aws.client("pricing", r), home.partition, result.region)
    pipeline = result.pipeline or {}
    rounding = cost.firehose_rounding(pipeline.get("stream_bytes"), pipeline.get("stream_records"))
    expiry = float(home.parameters.get("ObjectExpiryDays") or 30)
    result.rows = [
        replace(
            row,
            cost=cost.estimate(
                ingested_bytes=row.delivery["received_bytes"],
                forwarded_bytes=row.delivery["forwarded_bytes"],
                received_events=row.delivery["received"],
                forwarded_events=row.delivery["forwarded"],
                window_s=window_s,
                prices=result.prices,
                expiry_days=expiry,
                rounding=rounding,
            ).to_dict(),
        )
        if row.delivery
        else row
        for row in result.rows
    ]


def row_costs(results: list[RegionStatus]) -> list[cost.Cost]:
    return [cost.Cost(**row.cost) for result in results for row in result.rows if row.cost]


def cost_summary(results: list[RegionStatus], window: str) -> dict | None:
    """--json's account-wide cost: the sums, and the prices used in each region with their source."""
    if not any(result.prices for result in results):
        return None
    return {
        "window": window,
        "per": "month",
        "currency": "USD",
        "total": cost.total(row_costs(results)),
        "prices": {r.region: r.prices.to_dict() for r in results if r.prices is not None},
    }


def cost_lines(results: list[RegionStatus], window: str) -> list[str]:
    """The cost section of the text output: a line per cluster, the account's total, the prices."""
    rows = [row for result in results for row in result.rows if row.cost]
    if not rows:
        return []
    header = ["CLUSTER", "INGESTED", "FORWARDED", "LOGS", "FIREHOSE", "S3", "TOTAL/MONTH", "FILTER SAVES"]
    body = [
        [
            f"{row.region}/{row.cluster}",
            cost.size(row.cost["ingested_bytes"]),
            cost.size(row.cost["forwarded_bytes"]),
            cost.dollars(row.cost["logs_ingestion"]),
            cost.dollars(row.cost["firehose"]),
            cost.dollars(row.cost["s3"]),
            cost.dollars(row.cost["total"]),
            "-" if row.cost["filter_saves"] is None else cost.dollars(row.cost["filter_saves"]),
        ]
        for row in rows
    ]
    summed = cost.total(row_costs(results))
    lines = [
        f"cost a month at the rate of the last {window} (bytes over that window):",
        columns([header, *body]),
    ]
    lines.append(
        f"account total {cost.dollars(summed['total'])}/month: CloudWatch Logs ingestion "
        f"{cost.dollars(summed['logs_ingestion'])} (paid whether shipped or not), Firehose "
        f"{cost.dollars(summed['firehose'])}, S3 {cost.dollars(summed['s3'])}; the filter pattern saves "
        f"about {cost.dollars(summed['filter_saves'])}/month downstream"
    )
    for result in results:
        if result.prices is not None and any(row.cost for row in result.rows):
            note = f" ({result.prices.note})" if result.prices.note else ""
            lines.append(f"prices for {result.region}: {result.prices.source}{note}")
    return lines


def event_path_line(paths: list[event_path.EventPath]) -> str:
    """One line: where CloudTrail events reach the controller, and where not (the causes follow
    among the problems)."""
    words = []
    for state, label in ((True, "CloudTrail events reach the controller in"), (False, "they cannot in")):
        regions = [p.region for p in paths if p.ok is state]
        if regions:
            words.append(f"{label} {', '.join(regions)}")
    words += [p.cause for p in paths if p.ok is None]
    return "event path: " + "; ".join(words)


def with_broken_pipeline(rows: list[Row], broken: list[str]) -> list[Row]:
    """A broken part of the pipeline: every compliant cluster is silent, the part named."""
    said = f"nothing can be delivered: {'; '.join(broken)}"
    return [
        replace(row, verdict="silent", reason=f"configured, but {said}")
        if row.verdict == "compliant"
        else replace(row, reason=f"{row.reason}; {said}")
        if row.verdict == "silent"
        else row
        for row in rows
    ]


def keep_named_clusters_where_they_are(results: list[RegionStatus], names: tuple[str, ...]) -> list[str]:
    """A named cluster is shown in the regions that hold it ("gone" rows elsewhere are dropped);
    the names no region holds are returned (not found)."""
    if not names:
        return []
    where = {
        name: {row.region for r in results for row in r.rows if row.cluster == name and row.verdict != "gone"}
        for name in names
    }
    for result in results:
        result.rows = [row for row in result.rows if not (row.verdict == "gone" and row.cluster in where)]
    return [name for name in names if not where[name]]


def needs_attention(row: Row, pending_grace: float, now: datetime) -> bool:
    if row.verdict in IN_SCOPE_OK or row.verdict in OUT_OF_SCOPE:
        return False
    if row.verdict == "pending" and row.created_at:
        age = (now - datetime.fromisoformat(row.created_at)).total_seconds()
        return age > pending_grace
    return True


@click.command("status")
@stack_name_option
@click.option("--cluster", "clusters", multiple=True, help="Only these clusters (repeatable).")
@home_region_option
@click.option(
    "--window",
    default="1h",
    show_default=True,
    help="How far back delivery is judged (CloudWatch metrics: 30m, 1h, 1h30m, 1d; at least 60s, "
    "CloudWatch's period; 0 to skip).",
)
@click.option(
    "--pending-grace",
    type=click.FloatRange(min=0),
    default=1800,
    show_default=True,
    help="Seconds a cluster may stay pending (new, updating) before it counts as a problem.",
)
@click.option(
    "--no-cost",
    is_flag=True,
    help="Skip the cost figures (what each cluster's audit log costs a month, at the window's rate; "
    "prices from the AWS Price List API, or the shipped table).",
)
@click.option(
    "--org",
    "organization",
    is_flag=True,
    help="Every account of the AWS Organization (run from the management or delegated-admin account): "
    "the organization deploy's coverage per account, read through each account's read-only role.",
)
@click.option(
    "--org-stack-name",
    default=DEFAULT_ORG_STACK_NAME,
    show_default=True,
    help="With --org: the stack of org.yaml in the administering account.",
)
@global_options(verbose=True)
@click.pass_obj
def command(
    globals_, stack_name, clusters, home_region, window, pending_grace, no_cost, organization, org_stack_name
) -> None:
    """Coverage per cluster and region, and delivery: whether each cluster's audit log reaches the
    stream (CloudWatch metrics over --window). Exit 0 only when every in-scope cluster is compliant
    (a cluster configured right whose log does not get through is `silent`). With --org, every
    account of the organization, and exit 0 only when each is covered and compliant."""
    try:
        window_s = delivery_health.parse_duration(window)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None
    if 0 < window_s < 60:
        raise click.BadParameter(
            f"{window!r} is shorter than CloudWatch's 60 s period: give 60s or more, or 0 to skip",
            param_hint="--window",
        )
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions, verbose=globals_.verbose)
    if organization:
        sys.exit(
            org_status(
                globals_, aws, org_stack_name, stack_name, home_region, clusters, window_s, pending_grace
            )
        )
    regions = aws.regions()
    deployments = aws.deployments(stack_name, regions, home_region)
    if not deployments.homes:
        click.echo(no_stack_anywhere(stack_name, regions), err=True)
        sys.exit(CANNOT_RUN)
    regions = regions_to_look(regions, bool(globals_.regions), clusters, deployments)
    if len(regions) > 1:  # progress on standard error, terminal or not (CI logs, pipes)
        click.echo(f"eks-audit status: looking at {len(regions)} regions", err=True)

    def look(region: str) -> RegionStatus:
        result = region_status(aws, region, deployments, clusters, window_s, with_cost=not no_cost)
        if len(regions) > 1:
            click.echo(f"  {region}: {counted(len(result.rows), 'cluster')}", err=True)
        return result

    results = in_parallel(look, regions)
    not_found = keep_named_clusters_where_they_are(results, clusters)
    now = datetime.now(UTC)
    rows = [row for result in results for row in result.rows]
    attention = [row for row in rows if needs_attention(row, pending_grace, now)]
    problems = [f"{r.region}: {r.problem}" for r in results if r.problem]
    problems += [f"{name}: not found in {', '.join(regions)}" for name in not_found]
    summary = dict(Counter(row.verdict for row in rows))
    ok = not attention and not problems
    if globals_.json:
        click.echo(
            json.dumps(
                {
                    "ok": ok,
                    "summary": summary,
                    "regions": [
                        {
                            "region": r.region,
                            "stack": r.stack,
                            "problem": r.problem,
                            "pipeline": r.pipeline,
                            "event_path": r.event_path.to_dict() if r.event_path else None,
                            "denied_by_policy": r.denied_by_policy,
                            "clusters": [row.to_dict() for row in r.rows],
                        }
                        for r in results
                        if r.rows or r.problem or r.denied_by_policy
                    ],
                    "event_paths": [r.event_path.to_dict() for r in results if r.event_path],
                    "aws_features": [f.to_dict() for r in results for f in r.features],
                    "cost": cost_summary(results, window),
                },
                indent=2,
            )
        )
    else:
        if rows:
            click.echo(render_table(rows))
        elif clusters:  # the names asked for, none found: say so, and where it looked
            click.echo(f"{', '.join(clusters)}: not found in {', '.join(regions)}")
        else:
            click.echo("no EKS clusters found in " + ", ".join(r.region for r in results))
        click.echo("")
        click.echo(
            f"{counted(len(rows), 'cluster')}: "
            + (", ".join(f"{n} {v}" for v, n in sorted(summary.items())) or "none")
        )
        for r in results:
            if r.denied_by_policy:
                click.echo(
                    f"{r.region}: denied by policy (a service control policy refuses this account the region)"
                )
        for line in cost_lines(results, window):
            click.echo(line)
        if any(r.event_path for r in results):
            click.echo(event_path_line([r.event_path for r in results if r.event_path]))
        for finding in (f for r in results for f in r.features):  # AWS's own features, when found
            if finding.found:
                click.echo(f"note: {finding.text}")
            elif finding.found is None:
                click.echo(f"note: {finding.text}", err=True)
        for row in attention:
            click.echo(f"  {row.region}/{row.cluster}: {row.verdict}: {row.reason}")
        for problem in problems:
            click.echo(f"  {problem}", err=True)
    sys.exit(0 if ok else 1)


def org_status(
    globals_, aws: Aws, org_stack_name: str, stack_name: str, home_region, clusters, window_s, pending_grace
) -> int:
    """`status --org`: every account of the organization, its stack and its clusters."""
    region = home_region or aws.session.region_name or "us-east-1"
    try:
        org_stack, coverages = org_coverage(aws, org_stack_name, region)
    except StackNotFound:
        click.echo(no_org_stack("status --org", org_stack_name, region), err=True)
        return CANNOT_RUN
    covered = [c for c in coverages if c.deployed]
    click.echo(
        f"eks-audit status --org: {len(coverages)} accounts, reading the {len(covered)} covered ones",
        err=True,
    )

    def look(member: Aws, deployments: Deployments) -> list[RegionStatus]:
        return covered_region_statuses(member, deployments, clusters, window_s, organization_rules=False)

    def progress(done: int, at_once: int) -> None:  # a line per batch, on standard error, terminal or not
        click.echo(f"  {progress_words(covered, done, at_once, time.monotonic() - started)}", err=True)

    def attention(row: Row) -> bool:
        return needs_attention(row, pending_grace, datetime.now(UTC))

    # --json: each account written as it is read, then only its tally kept (memory does not grow
    # with the clusters); the accounts come first, in the order they were read
    document = json_stream.Document(sys.stdout, "accounts") if globals_.json else None

    def written(coverage: AccountCoverage) -> None:
        if document is not None:
            document.item(coverage.to_dict())
            coverage.condense(attention)

    started = time.monotonic()
    read_members(aws, org_stack, coverages, look, on_window=progress, on_read=written)
    management = next((c for c in coverages if c.stack == "management"), None)
    if (
        management is not None
        and aws.client("sts", region).get_caller_identity()["Account"] == management.account
    ):
        look_at_management(aws, management, stack_name, region, clusters, window_s)
    # the organization's telemetry rules, read once as the administering account (members may not)
    regions = sorted({r for c in coverages for r in c.tallied().regions} | {region})
    rules = in_parallel(lambda r: aws_features.organization_telemetry_rules(aws.client, r), regions)
    now = datetime.now(UTC)
    ok = org_ok(coverages, attention)
    if document is not None:
        for coverage in coverages:
            if coverage.tally is None:  # not read through a member role: the management account, the rest
                document.item(coverage.to_dict())
        tail = {
            "ok": ok,
            "delivery": delivery_totals(coverages),
            "aws_features": [f.to_dict() for f in rules],
        }
        document.close(tail)
    else:
        click.echo(render_org(coverages))
        for finding in rules:
            if finding.found:
                click.echo(f"note: {finding.text}")
        unreadable = next((f for f in rules if f.found is None), None)
        if unreadable is not None:
            click.echo(f"note: {unreadable.text}", err=True)
        for coverage in coverages:
            for row in coverage.rows:
                if needs_attention(row, pending_grace, now):
                    click.echo(
                        f"  {coverage.account}/{row.region}/{row.cluster}: {row.verdict}: {row.reason}"
                    )
            for problem in coverage.problems:
                click.echo(f"  {coverage.account}: {problem}", err=True)
            for denied in coverage.denied_by_policy:
                reason = coverage.denied_reasons.get(denied, "")
                click.echo(
                    f"  {coverage.account}: {denied}: denied by policy (a service control policy): {reason}"
                )
        uncovered = [c for c in coverages if not c.deployed and not c.has_own_stack]
        if uncovered:
            click.echo("not covered:")
            for c in uncovered:
                counts = "" if not_covered(c) else " (no cluster seen: nothing to ship)"
                click.echo(f"  {c.account} {c.name}: {c.reason}{counts}")
    return 0 if ok else 1


def progress_words(covered: list[AccountCoverage], done: int, at_once: int, elapsed_s: float) -> str:
    """`120 of 480 covered accounts read (2400 clusters, 2 accounts with problems), 8 at once, 42s`."""
    clusters = sum(c.tallied().clusters for c in covered)  # an account not read yet has none
    troubled = sum(1 for c in covered if c.problems)
    problems = f", {counted(troubled, 'account')} with problems" if troubled else ""
    return (
        f"{done} of {len(covered)} covered accounts read ({counted(clusters, 'cluster')}{problems}), "
        f"{at_once} at once, {elapsed_s:.0f}s"
    )


def look_at_management(
    aws: Aws, coverage: AccountCoverage, stack_name: str, region, clusters, window_s
) -> None:
    """The caller is the management account: its own stack if it has one (then it is covered),
    else its clusters in the home region, which nothing ships."""
    deployments = find_deployments(lambda r: aws.client("cloudformation", r), stack_name, [region])
    if deployments.homes:
        coverage.has_own_stack = True
        coverage.reason = f"its own stack {deployments.homes[region].name!r}"
        results = covered_region_statuses(aws, deployments, clusters, window_s, organization_rules=False)
    else:
        results = [region_status(aws, region, deployments, clusters, 0)]
    for result in results:
        coverage.rows += result.rows
        if result.problem and coverage.has_own_stack:
            coverage.problems.append(f"{result.region}: {result.problem}")


def covered_region_statuses(
    aws: Aws, deployments: Deployments, clusters, window_s, organization_rules: bool = True
) -> list[RegionStatus]:
    """Every region one account's stack covers, side by side."""
    home = next(iter(deployments.homes.values()))
    return in_parallel(
        lambda r: region_status(
            aws, r, deployments, clusters, window_s, organization_rules=organization_rules
        ),
        list(home.covered_regions),
    )


def delivery_totals(coverages: list[AccountCoverage]) -> dict[str, int]:
    """Events received by the clusters' log groups and forwarded by our filters, summed."""
    tallies = [coverage.tallied() for coverage in coverages]
    return {"received": sum(t.received for t in tallies), "forwarded": sum(t.forwarded for t in tallies)}


def render_org(coverages: list[AccountCoverage]) -> str:
    header = ("ACCOUNT", "NAME", "STACK", "CLUSTERS", "VERDICTS", "DELIVERY")
    lines = [header]
    for c in coverages:
        tally = c.tallied()
        lines.append(
            (
                c.account,
                c.name,
                "own stack" if c.has_own_stack else c.stack,
                str(tally.clusters),
                ", ".join(f"{n} {v}" for v, n in sorted(tally.verdicts.items())) or "-",
                f"{tally.forwarded}/{tally.received} forwarded" if tally.delivery_read else "-",
            )
        )
    totals = delivery_totals(coverages)
    covered = sum(1 for c in coverages if c.deployed or c.has_own_stack)
    return (
        f"{columns(lines)}\n\n{covered} of {len(coverages)} accounts covered; delivery over the window: "
        f"{totals['forwarded']} of {totals['received']} events forwarded"
    )
