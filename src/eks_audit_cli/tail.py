"""`eks-audit tail`: follow what is delivered to the consumer, one audit event JSON per line, as the
objects arrive: the end-to-end proof, in a real account, that a `kubectl` command just run reaches
the consumer. Reads the covered regions' buckets (ListBucket, GetObject: nothing else), every gzip
member of each new object, control messages skipped. With --cluster, one DescribeLogGroups per
region first, to say so at once when the cluster has no log yet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from eks_audit.delivery import Problem, iter_log_events
from eks_audit.names import log_group_name

from .decode import render_event
from .delivery_health import parse_duration
from .options import global_options, home_region_option, stack_name_option
from .session import Aws
from .stack import stack_words


@dataclass
class Follower:
    """New objects under each (region, bucket, prefix), oldest first; each object read once."""

    s3_for: Callable[[str], object]
    locations: list[tuple[str, str, str]]
    since: datetime
    after: dict[tuple[str, str], str] = field(default_factory=dict)  # (bucket, prefix) -> last key

    def new_objects(self) -> list[tuple[str, str, str, datetime]]:
        found = []
        for region, bucket, prefix in self.locations:
            kwargs = {"Bucket": bucket, "Prefix": prefix}
            if (bucket, prefix) in self.after:
                kwargs["StartAfter"] = self.after[(bucket, prefix)]  # keys sort by delivery time
            for page in self.s3_for(region).get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    self.after[(bucket, prefix)] = max(self.after.get((bucket, prefix), ""), item["Key"])
                    if item["LastModified"] >= self.since:
                        found.append((region, bucket, item["Key"], item["LastModified"]))
        return sorted(found, key=lambda item: (item[3], item[2]))


# What a dropped endpoint or network looks like to botocore: worth waiting for, unlike a refusal
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


@dataclass
class Patience:
    """Retries of a look while AWS is unreachable: backing off from `first` to `most` seconds, for at
    most `budget` seconds of outage (the events delivered meanwhile are still there afterwards)."""

    budget: float
    first: float = 1.0
    most: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    say: Callable[[str], None] = lambda line: click.echo(line, err=True)

    def attempt(self, look: Callable[[], object]) -> object:
        started, wait = None, self.first
        while True:
            try:
                return look()
            except UNREACHABLE as exc:
                now = self.clock()
                started = now if started is None else started
                if now - started + wait > self.budget:
                    raise GaveUp(
                        f"AWS unreachable for {now - started:.0f}s ({exc}); run it again to go on: nothing delivered meanwhile is lost"
                    ) from None
                self.say(f"eks-audit tail: AWS unreachable ({exc}): trying again in {wait:.0f}s")
                self.sleep(wait)
                wait = min(wait * 2, self.most)


class GaveUp(RuntimeError):
    """AWS stayed unreachable longer than tail waits: the text says for how long and why."""


def has_log_group(logs, name: str) -> bool:
    """Whether the log group exists (True when the look is refused: then nothing is claimed)."""
    try:
        found = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    except ClientError:
        return True
    return any(group["logGroupName"] == name for group in found)


@click.command("tail")
@click.option("--cluster", "clusters", multiple=True, help="Only these clusters' events (repeatable).")
@click.option(
    "--since",
    default="10m",
    show_default=True,
    help="Start with objects delivered this long ago (0: only new ones).",
)
@click.option("--max-events", type=click.IntRange(1), help="Stop after this many events.")
@click.option(
    "--with-metadata", is_flag=True, help="Wrap each event with its log group, stream, time and id."
)
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 300),
    default=5.0,
    show_default=True,
    help="Seconds between looks for new objects.",
)
@stack_name_option
@home_region_option
@global_options(only=("regions", "profile", "endpoint_url"))
@click.pass_obj
def command(globals_, clusters, since, max_events, with_metadata, interval, stack_name, home_region) -> None:
    """Follow what is delivered to the consumer and print each audit event as it arrives (every region
    the stack covers, or those given with --region). Ctrl-C stops."""
    try:
        since_s = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions)
    asked = aws.regions()
    deployments = aws.deployments(stack_name, asked, home_region)
    locations = [
        (region, *home.delivery_location(region))
        for home in deployments.homes.values()
        for region in home.covered_regions
        if not globals_.regions or region in asked
    ]
    if not locations:
        click.echo(f"eks-audit tail: {stack_words(stack_name)} covers {', '.join(asked)}", err=True)
        sys.exit(2)
    groups = {log_group_name(name) for name in clusters}
    follower = Follower(
        lambda region: aws.client("s3", region), locations, datetime.now(UTC) - timedelta(seconds=since_s)
    )
    click.echo(f"following {', '.join(f's3://{b}/{p}' for _, b, p in locations)} (Ctrl-C stops)", err=True)
    for name in clusters:  # say so now, rather than wait in silence for what cannot come
        regions = sorted({region for region, _, _ in locations})
        if not any(has_log_group(aws.client("logs", region), log_group_name(name)) for region in regions):
            click.echo(
                f"eks-audit tail: cluster {name} has no log group ({log_group_name(name)}) in "
                f"{', '.join(regions)} yet: waiting for its first events",
                err=True,
            )
    out, printed = sys.stdout.buffer, 0
    patience = Patience(budget=max(since_s, 600.0))  # as long as --since, and ten minutes at least
    try:
        while True:
            try:
                new = patience.attempt(follower.new_objects)
            except GaveUp as exc:
                click.echo(f"eks-audit tail: stopped: {exc}", err=True)
                sys.exit(2)
            for region, bucket, key, _ in new:
                try:
                    body = patience.attempt(
                        lambda r=region, b=bucket, k=key: aws.client("s3", r).get_object(Bucket=b, Key=k)[
                            "Body"
                        ]
                    )
                except GaveUp as exc:
                    click.echo(f"eks-audit tail: stopped: {exc}", err=True)
                    sys.exit(2)

                def report(problem: Problem, where: str = f"s3://{bucket}/{key}") -> None:
                    click.echo(f"eks-audit tail: {where}: {problem}", err=True)

                for event in iter_log_events(body, report):
                    if groups and event.log_group not in groups:
                        continue
                    line = render_event(event, with_metadata)
                    if line is None:
                        continue
                    out.write(line)
                    out.flush()
                    printed += 1
                    if max_events and printed >= max_events:
                        return
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo(f"stopped after {printed} events", err=True)
        raise  # exit 130, as for any interrupted command
