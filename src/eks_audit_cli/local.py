"""`eks-audit local serve`: the local cloud, until interrupted."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from .errors import CANNOT_RUN
from .options import global_options

DEFAULT_PORT = 4566
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"


def activity_line(record: dict) -> str | None:
    """One readable line per controller log record (None for what is not worth a line)."""
    message = record.get("message", "")
    if not isinstance(message, str) or message.startswith("sweeping 0 "):
        return None
    cluster = record.get("cluster")
    level = record.get("level", "INFO")
    prefix = f"[{level.lower()}] " if level != "INFO" else ""
    who = f"controller {record['account']}" if record.get("account") else "controller"
    return f"{who}: {prefix}{cluster + ': ' if cluster else ''}{message}"


@click.group("local")
def group() -> None:
    """The local cloud: the whole system on this machine, no AWS account."""


@group.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--faults", default="", help="Fail EKS and CloudWatch Logs calls at random: throttle=R,error=R."
)
@click.option(
    "--creating-seconds",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="How long a new cluster is CREATING.",
)
@click.option(
    "--update-seconds",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="How long a logging update takes.",
)
@click.option(
    "--sweep-interval",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds between sweeps (0: none).",
)
@click.option(
    "--quotas",
    "quotas_spec",
    default="",
    help="API quotas per region, in requests a second: service:Operation=rate,... changes those named, "
    "`off` lifts them all. Default: CloudWatch Logs' from Service Quotas, the local cloud's own for EKS "
    "(printed at start).",
)
@click.option("--quiet", is_flag=True, help="Do not print the controller's activity.")
@click.option(
    "--no-controller",
    is_flag=True,
    help="Deploy the stack without attaching the functions: an account whose clusters predate eks-audit, "
    "before its first sweep (to try `eks-audit backfill`).",
)
@click.option(
    "--organization",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="An AWS Organization: a management account and N member accounts in one OU, with the "
    "organization deploy (org.yaml) made from the management account; 0: one account, template.yaml.",
)
@global_options(only=("regions",))
@click.pass_obj
def serve(
    globals_,
    port,
    faults,
    creating_seconds,
    update_seconds,
    sweep_interval,
    quotas_spec,
    quiet,
    no_controller,
    organization,
) -> None:
    """Run moto with eks-audit's overlays, the stack deployed from template.yaml and the controller
    attached, until interrupted. Prints `READY http://127.0.0.1:<port>` once clients can use it.
    With `--regions HOME,R2,...` the first is the home region and the others get their spokes
    (spoke.yaml), as one deploy gives them in AWS."""
    from eks_audit_local.gateway import Faults
    from eks_audit_local.quotas_overlay import Quotas, parse_quotas
    from eks_audit_local.server import LocalCloud, Timings

    try:
        parsed_faults = Faults.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        quotas = Quotas(parse_quotas(quotas_spec))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--quotas") from None

    def on_record(record: dict) -> None:
        line = None if quiet else activity_line(record)
        if line:
            click.echo(line, err=True)

    region, *spokes = globals_.regions or ("us-east-1",)
    timings = Timings(creating=creating_seconds, update=update_seconds, sweep_interval=sweep_interval)
    cloud = LocalCloud(
        port=port,
        region=region,
        spoke_regions=tuple(spokes),
        faults=parsed_faults,
        quotas=quotas,
        timings=timings,
        on_record=on_record,
        controller_enabled=not no_controller,
        organization=organization,
    )
    where = f"{region} and spokes in {', '.join(spokes)}" if spokes else region
    what = f"the organization deploy ({organization} member accounts)" if organization else "the stack"
    click.echo(f"starting the local cloud on 127.0.0.1:{port}, deploying {what} in {where}...", err=True)
    try:
        cloud.start()
    except OSError as exc:
        click.echo(
            f"eks-audit local serve: cannot listen on 127.0.0.1:{port}: {exc.strerror} (another process, "
            "another emulator perhaps, holds it): give --port N, or --port 0 for any free one",
            err=True,
        )
        sys.exit(CANNOT_RUN)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if cloud.org is not None:
        describe_organization(cloud)
    else:
        describe_stack(cloud, region)
    for line in quotas.describe():
        click.echo(line, err=True)
    click.echo(f"READY {cloud.endpoint}")
    sys.stdout.flush()
    stop.wait()
    click.echo("stopping...", err=True)
    cloud.stop()


def describe_stack(cloud, region: str) -> None:
    outputs = cloud.stack.outputs()
    click.echo(
        f"stack deployed in {region}: bucket {outputs['BucketName']}, queue {outputs['ReconcileQueueUrl']}",
        err=True,
    )
    for spoke, stack in cloud.stack.spokes.items():
        click.echo(f"spoke deployed in {spoke}: bucket {stack.output('BucketName')}", err=True)
    click.echo(f"consumer stand-in queue: {cloud.consumer_queue_url}", err=True)


def describe_organization(cloud) -> None:
    org = cloud.org
    click.echo(
        f"organization {org.id}: management account {org.management} (the CLI's default credentials), "
        f"OU {org.ou}",
        err=True,
    )
    for (stack_set, account, region), instance in sorted(cloud.stack_sets.instances.items()):
        state = "deployed" if instance.failure is None else f"FAILED: {instance.failure}"
        click.echo(f"  {stack_set}: {account} {region}: {state}", err=True)
    click.echo(
        "member accounts: assume arn:aws:iam::<account>:role/OrganizationAccountAccessRole; an account "
        "created and moved into the OU gets its stacks (automatic deployment)",
        err=True,
    )


@group.command("audit-lines")
@click.option("--cluster", required=True, help="The cluster whose log group receives the lines.")
@click.option("--count", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--seed", type=int, default=None, help="The same seed writes the same lines.")
@global_options(only=("regions", "profile", "endpoint_url"))
@click.pass_obj
def audit_lines(globals_, cluster, count, seed) -> None:
    """Write realistic Kubernetes audit log lines (API calls, and the health checks and early stages
    the standard pattern drops) into CLUSTER's log group on the local cloud, as its API server
    would; then `eks-audit tail --cluster CLUSTER` shows what reaches the consumer."""
    import time

    from eks_audit.names import log_group_name
    from eks_audit_local.audit_lines import generate

    from .session import Aws

    # as every AWS client: --endpoint-url, else AWS_ENDPOINT_URL (the README's block exports it)
    endpoint = globals_.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    region = (globals_.regions or ("us-east-1",))[0]
    logs = Aws(globals_.profile, endpoint, globals_.regions).client("logs", region)
    group, stream = log_group_name(cluster), f"kube-apiserver-audit-{int(time.time())}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    lines = generate(count, seed=seed)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": line.text} for i, line in enumerate(lines)],
    )
    kept = sum(1 for line in lines if line.kept)
    click.echo(f"wrote {count} lines to {group} ({stream}) in {region}: the standard pattern keeps {kept}")
