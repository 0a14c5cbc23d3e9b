"""`eks-audit backfill`: make clusters compliant now, with the reconcile code the functions run.

It runs in-process with the operator's credentials rather than through the deployed sweeper: a
progress bar and each cluster's outcome come back at once, clusters that must wait (CREATING, an
update in flight) are followed to the end, no Lambda time limit applies, and `--dry-run` works
even before the stack exists. Regions run in parallel; the calls are rate-limited per API and
retried adaptively, so a thousand clusters do not trip the AWS quotas; clusters that wait are
followed together, in rounds, so that waiting holds no worker.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from eks_audit.aws import ClusterApi
from eks_audit.concurrency import in_parallel
from eks_audit.model import Outcome, Verdict
from eks_audit.reconcile import reconcile
from eks_audit.settings import Settings
from eks_audit.sweep import list_cluster_names

from .errors import CANNOT_RUN, INTERRUPTED
from .options import global_options, home_region_option, stack_name_option
from .scope import no_stack_anywhere, regions_to_look
from .session import Aws
from .stack import Deployments, StackNotFound, placeholder_settings
from .words import counted

SETTLED_OK = {Verdict.COMPLIANT, Verdict.SKIPPED, Verdict.GONE}
DRY_RUN_FAILS = {Verdict.CONFLICT, Verdict.ERROR}
PROGRESS_EVERY = 30.0  # off a terminal (CI logs, pipes), a progress line at least this often (s)


@dataclass
class Work:
    region: str
    settings: Settings
    clusters: list[str]
    note: str | None = None


@dataclass
class Result:
    outcome: Outcome
    changed: list[str] = field(default_factory=list)


def reconcile_until_settled(
    api: ClusterApi,
    settings: Settings,
    cluster: str,
    region: str,
    *,
    dry_run: bool,
    deadline: float,
    sleep=time.sleep,
) -> Result:
    """One cluster, followed on its own until settled or the deadline (the naive baseline of the
    benchmark and the steady-state measure; the backfill follows every waiting cluster together)."""
    changed: list[str] = []
    update_id = None
    while True:
        outcome = reconcile(api, settings, cluster, region, update_id=update_id, dry_run=dry_run)
        changed += [str(a) for a in outcome.actions if not dry_run]
        if dry_run or outcome.requeue_after is None:
            return Result(outcome, changed)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Result(outcome, changed)
        sleep(min(outcome.requeue_after, remaining))
        update_id = outcome.update_id or update_id


@dataclass
class _Followed:
    """A cluster of the backfill: where it stands, and when to look at it again."""

    work: Work
    cluster: str
    due: float = 0.0
    update_id: str | None = None
    changed: list[str] = field(default_factory=list)
    outcome: Outcome | None = None
    settled: bool = False
    waiting_since: float | None = None  # when it first had to wait


@dataclass
class Progress:
    """Where a backfill stands at any moment (a report when it is interrupted): what is done, and
    the clusters it follows, looked at or not yet."""

    results: list[Result] = field(default_factory=list)
    following: list[_Followed] = field(default_factory=list)


def waiting_words(following: list[_Followed], now: float) -> str:
    """What the backfill waits for, in words: "waiting for 22 logging updates, oldest 3m"."""
    waiting = [f for f in following if not f.settled and f.waiting_since is not None]
    if not waiting:
        return ""
    updates = [f for f in waiting if f.update_id]
    others = len(waiting) - len(updates)
    parts = [counted(len(updates), "logging update")] if updates else []
    parts += [counted(others, "cluster") + " to become ACTIVE"] if others else []
    oldest = now - min(f.waiting_since for f in waiting)  # type: ignore[type-var]
    return f"waiting for {' and '.join(parts)}, oldest {int(oldest // 60)}m{int(oldest % 60):02d}s"


def progress_words(progress_: Progress, now: float) -> str:
    """A progress line off a terminal: what is done, what is not looked at yet, what it waits for:
    "3 of 40 done; 12 not looked at yet; waiting for 25 logging updates, oldest 1m10s"."""
    unseen = sum(1 for f in progress_.following if f.outcome is None and not f.settled)
    parts = [f"{len(progress_.results)} of {len(progress_.following)} done"]
    parts += [f"{unseen} not looked at yet"] if unseen else []
    waits = waiting_words(progress_.following, now)
    return "; ".join(parts + ([waits] if waits else []))


def pause(now: float, wake_at: float, line_at: float) -> float:
    """How long a wait sleeps before it looks again: until the clusters are due or until the next
    progress line is, whichever comes first (a wait of 300 s is slept in slices, a line each)."""
    return max(0.0, min(wake_at, line_at) - now)


def interruption_report(progress_: Progress) -> list[str]:
    """What Ctrl-C leaves: what was done, what is in flight in AWS, what is left, and that a re-run
    is safe."""
    done = Counter(str(r.outcome.verdict) for r in progress_.results)
    in_flight = sorted(
        f"{f.work.region}/{f.cluster}" for f in progress_.following if not f.settled and f.update_id
    )
    left = sorted(
        f"{f.work.region}/{f.cluster}" for f in progress_.following if not f.settled and f.outcome is None
    )
    total = len(progress_.following) or len(progress_.results)
    lines = [
        f"interrupted: {len(progress_.results)} of {counted(total, 'cluster')} done"
        + (f" ({', '.join(f'{n} {v}' for v, n in sorted(done.items()))})" if done else "")
    ]
    if in_flight:
        lines.append(
            f"in flight: {counted(len(in_flight), 'logging update')} issued, which go on in AWS: {', '.join(in_flight)}"
        )
    if left:
        lines.append(f"left: {counted(len(left), 'cluster')} not looked at: {', '.join(left)}")
    lines.append("re-running eks-audit backfill is safe: it starts from what it finds in each cluster")
    return lines


def plan_region(aws: Aws, region: str, deployments: Deployments, names: tuple[str, ...]) -> Work | str:
    """The clusters of a region and the settings to hold them to, or a problem to report."""
    clusters = list(names) or list(list_cluster_names(aws.client("eks", region)))
    try:
        settings = deployments.settings_for(region)
        note = None
    except StackNotFound as exc:
        if not clusters:
            return Work(region, placeholder_settings(region), [])
        return f"uncovered: {exc}"  # the dry run says what the real run will
    return Work(region, settings, sorted(clusters), note)


def run_backfill(
    work: list[Work],
    api_for_region: Callable[[str], ClusterApi],
    *,
    dry_run: bool,
    deadline: float,
    concurrency: int,
    poll_interval: float = 5.0,
    on_done: Callable[[Result], None] = lambda result: None,
    on_wait: Callable[[list[_Followed]], None] = lambda following: None,
    progress_: Progress | None = None,
    every: float = math.inf,
    on_progress: Callable[[Progress, float], None] = lambda progress_, now: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Result]:
    """Reconcile every cluster, then follow those that must wait, all together.

    Waiting holds no worker: a round reconciles the clusters that are due (regions side by side,
    `concurrency` clusters at once per region, every call paced by the client-side rate limiter);
    a cluster that must wait (creating, an update in flight) is due again after its wait, at most
    `poll_interval`, and the next round takes every cluster then due. The wall time is about the
    paced time of all the calls plus the longest single wait, whatever the number of clusters.

    `on_progress` is called with the time when `every` seconds have passed since its last call (or
    the start): a wait is slept in slices that end when it is due, and a round checks after each
    cluster it looks at, so a round of paced calls where nothing settles yet is reported too.
    """
    progress_ = progress_ if progress_ is not None else Progress()
    results = progress_.results
    lock = threading.Lock()
    waiting = [_Followed(item, cluster) for item in work for cluster in item.clusters]
    progress_.following = list(waiting)
    line_at = [clock() + every]  # when the next progress line is due (never, by default)

    def beat() -> None:
        now = clock()
        if now >= line_at[0]:
            line_at[0] = now + every
            on_progress(progress_, now)

    def settle(followed: _Followed) -> None:
        followed.settled = True
        with lock:
            result = Result(followed.outcome, followed.changed)
            results.append(result)
            on_done(result)

    def look(followed: _Followed) -> None:
        item = followed.work
        outcome = reconcile(
            api_for_region(item.region),
            item.settings,
            followed.cluster,
            item.region,
            update_id=followed.update_id,
            dry_run=dry_run,
        )
        followed.outcome = outcome
        followed.changed += [str(a) for a in outcome.actions if not dry_run]
        followed.update_id = outcome.update_id or followed.update_id
        if dry_run or outcome.requeue_after is None:
            settle(followed)
        else:
            followed.due = clock() + min(outcome.requeue_after, poll_interval)
            if followed.waiting_since is None:  # 0.0 is a time too (a clock that starts at 0)
                followed.waiting_since = clock()
        with lock:
            beat()

    def one_round(due: list[_Followed]) -> None:
        by_region: dict[str, list[_Followed]] = {}
        for followed in due:
            by_region.setdefault(followed.work.region, []).append(followed)
        in_parallel(
            lambda items: in_parallel(look, items, workers=concurrency),
            list(by_region.values()),
            workers=max(1, len(by_region)),
        )

    while waiting:
        now = clock()
        due = [f for f in waiting if f.due <= now]
        one_round(due)
        waiting = [f for f in waiting if not f.settled]
        if not waiting:
            break
        next_due = min(f.due for f in waiting)
        if next_due > deadline:
            for followed in waiting:  # still waiting at the deadline: reported as they stand
                settle(followed)
            break
        on_wait(waiting)
        beat()
        while (now := clock()) < next_due:
            sleep(pause(now, next_due, line_at[0]))
            beat()
    return results


@click.command("backfill")
@click.option("--cluster", "clusters", multiple=True, help="Only these clusters (repeatable).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@stack_name_option
@home_region_option
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=900,
    show_default=True,
    help="How long to follow clusters that must wait (creating, an update in flight).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.5, 300),
    default=5.0,
    show_default=True,
    help="How often the clusters that wait are looked at again, all together (no worker waits).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=8,
    show_default=True,
    help="Calls in flight at once per region (every call is paced to the account's quotas).",
)
@global_options(verbose=True)
@click.pass_obj
def command(
    globals_, clusters, dry_run, stack_name, home_region, wait_seconds, poll_interval, concurrency
) -> None:
    """Reconcile clusters now (every cluster of the regions, or those named), with a progress bar
    and a summary. Exit non-zero when any cluster could not be made compliant."""
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions, verbose=globals_.verbose)
    regions = aws.regions()
    deployments = aws.deployments(stack_name, regions, home_region)
    if not deployments.homes:  # a dry run too: with no stack there is nothing to compare with
        said = no_stack_anywhere(stack_name, regions)
        if dry_run:
            said += " (a dry run compares with the stack's settings: nothing to compare with yet; `eks-audit doctor` checks an account before the deploy)"
        click.echo(said, err=True)
        sys.exit(CANNOT_RUN)
    regions = regions_to_look(regions, bool(globals_.regions), clusters, deployments)
    planned = in_parallel(lambda region: plan_region(aws, region, deployments, clusters), regions)
    problems = [p for p in planned if isinstance(p, str)]
    work = [w for w in planned if isinstance(w, Work) and w.clusters]
    for item in work:
        if item.note:
            click.echo(f"note: {item.note}", err=True)
    total = sum(len(w.clusters) for w in work)
    state = Progress()

    def on_wait(following: list[_Followed]) -> None:
        """On a terminal, the bar's label says what it waits for."""
        if bar.is_terminal:
            bar.label = waiting_words(following, time.monotonic()) or bar.label

    def say_progress(progress_: Progress, now: float) -> None:
        """Off a terminal (CI logs, pipes), a line at least every PROGRESS_EVERY seconds."""
        click.echo(f"eks-audit backfill: {progress_words(progress_, now)}", err=True)

    try:
        with progress(total, "dry run" if dry_run else "backfill") as bar:
            results = run_backfill(
                work,
                lambda region: aws.cluster_api(region, read_only=dry_run),
                dry_run=dry_run,
                deadline=time.monotonic() + wait_seconds,
                concurrency=concurrency,
                poll_interval=poll_interval,
                on_done=lambda result: bar.update(1),
                on_wait=on_wait,
                progress_=state,
                every=math.inf if bar.is_terminal else PROGRESS_EVERY,
                on_progress=say_progress,
            )
    except KeyboardInterrupt:
        for line in interruption_report(state):
            click.echo(f"eks-audit backfill: {line}", err=True)
        sys.exit(INTERRUPTED)
    results.sort(key=lambda r: (r.outcome.region, r.outcome.cluster))
    if clusters:  # a named cluster is reported where it is; a name no region holds is not found
        where = {
            n: {
                r.outcome.region
                for r in results
                if r.outcome.cluster == n and r.outcome.verdict != Verdict.GONE
            }
            for n in clusters
        }
        # "gone" is what a region without the name answers: the name is reported where it is, or
        # as not found below, never as gone
        results = [
            r for r in results if not (r.outcome.verdict == Verdict.GONE and r.outcome.cluster in where)
        ]
        problems += [f"{name}: not found in {', '.join(regions)}" for name in clusters if not where[name]]
    # a dry run fails where the real run would: a conflict or an error (not what it would change)
    failed = [
        r
        for r in results
        if (r.outcome.verdict in DRY_RUN_FAILS if dry_run else r.outcome.verdict not in SETTLED_OK)
    ]
    summary = Counter(str(r.outcome.verdict) for r in results)
    if globals_.json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "summary": dict(summary),
                    "problems": problems,
                    "clusters": [{**r.outcome.to_dict(), "changed": r.changed} for r in results],
                },
                indent=2,
            )
        )
    else:
        render_summary(results, summary, problems, dry_run)
    sys.exit(1 if failed or problems else 0)


class _Silent:
    """Stands in for the progress bar when standard error is not a terminal (CI logs, pipes)."""

    is_terminal = False
    label = ""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, steps: int) -> None:
        pass


def progress(total: int, label: str):
    if sys.stderr.isatty():
        bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, show_eta=True)
        bar.is_terminal = True
        return bar
    return _Silent()


def render_summary(results: list[Result], summary: Counter, problems: list[str], dry_run: bool) -> None:
    verb = "would" if dry_run else "did"
    for result in results:
        o = result.outcome
        actions = ", ".join(map(str, o.actions)) if dry_run else ", ".join(dict.fromkeys(result.changed))
        doing = f"{verb}: {actions}" if actions else "no change"
        click.echo(
            f"{o.region}/{o.cluster}: {o.verdict} ({doing})"
            + (f" - {o.reason}" if o.verdict not in (Verdict.COMPLIANT,) else "")
        )
    changed = sum(1 for r in results if (r.outcome.actions if dry_run else r.changed))
    click.echo("")
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(summary.items()))
    click.echo(
        f"{counted(len(results), 'cluster')}, {changed} {'to change' if dry_run else 'changed'}"
        + (f": {verdicts}" if verdicts else "")
    )
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
