"""`eks-audit doctor`: will `sam deploy` and onboarding work in this account, and, once deployed, does
everything they rely on still hold? One line per check, OK / WARN / FAIL with the fix; it reads only.

Before a deploy (no stack yet): the regions SpokeRegions would cover, each covered region's trail and
selectors (event_path), room for eks-audit's filter in each existing cluster's log group, KmsKeyArn's
key and key policy, the eks-audit stacks there are, and whether the caller may create what the deploy
creates (IAM's policy simulator). After: the event path (trails, the stack's rules, their failures),
the delivery path (stream, bucket, topic), the dead-letter queue and the last sweep. Both: AWS's own
telemetry rules and Security Lake sources for EKS audit logs (aws_features).

A check whose call is denied is WARN naming the action; any other AWS error is WARN in one line.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from eks_audit import constants
from eks_audit.regions import RegionsError, check_key_region, resolve_coverage
from eks_audit.sweep import list_cluster_names

from . import aws_features, event_path, pipeline_parts
from .errors import CANNOT_RUN, DENIED, is_fatal
from .options import global_options, home_region_option, stack_name_option
from .session import Aws
from .stack import DeployedStack, stack_words
from .words import counted

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# What CloudFormation calls with the deployer's credentials to create the stack's resources: the
# create handlers' permissions in the CloudFormation registry schemas of template.yaml's resource
# types (tests/unit/test_doctor.py holds this list to them), the main ones of each type.
DEPLOY_ACTIONS = (
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutBucketNotification",
    "sns:CreateTopic",
    "sns:Subscribe",
    "sqs:CreateQueue",
    "firehose:CreateDeliveryStream",
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:PassRole",
    "lambda:CreateFunction",
    "lambda:PublishLayerVersion",
    "lambda:CreateEventSourceMapping",
    "events:PutRule",
    "events:PutTargets",
    "logs:CreateLogGroup",
    "cloudwatch:PutMetricAlarm",
)
SPOKE_ACTIONS = ("cloudformation:CreateStackSet", "cloudformation:CreateStackInstances")
KEY_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def line(self) -> str:
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.level:<4}  {self.name}: {self.detail}{fix}"


def guarded(name: str, check: Callable[[], list[Check]]) -> list[Check]:
    """The check's lines, or one WARN when AWS refused or failed it (never a traceback); no
    credentials or no network is the command's to say (exit 2)."""
    try:
        return check()
    except ClientError as exc:
        if is_fatal(exc):
            raise
        error = exc.response.get("Error", {})
        code, action = error.get("Code", ""), getattr(exc, "operation_name", "") or "a call"
        if code in DENIED:
            return [Check(name, WARN, f"not checked: {action} denied", "grant it to run this check")]
        return [Check(name, WARN, f"not checked: {action}: {code}: {error.get('Message', '')}")]
    except BotoCoreError as exc:
        if is_fatal(exc):
            raise
        return [Check(name, WARN, f"not checked: {exc}")]
    except ResponseParserError as exc:  # an endpoint that answers what botocore cannot read
        return [Check(name, WARN, f"not checked: an unreadable answer ({str(exc).splitlines()[0]})")]


# -- before a deploy ----------------------------------------------------------------------------------


def check_regions(aws: Aws, home: str, spoke_regions: str) -> tuple[list[Check], list[str]]:
    """The regions the deploy would cover (SpokeRegions against the account's enabled regions)."""
    try:
        coverage = resolve_coverage(aws.client("ec2", home), home, spoke_regions)
    except RegionsError as exc:
        return [Check("regions", FAIL, str(exc), "fix SpokeRegions")], [home]
    regions = [home, *coverage.spokes]
    opt_in = f" (opt-in regions: {', '.join(coverage.opted_in)})" if coverage.opted_in else ""
    return [Check("regions", OK, f"covers {', '.join(regions)}{opt_in}")], regions


def check_trails(aws: Aws, region: str) -> list[Check]:
    trails = event_path.read_trails(aws.client, region)
    cause = event_path.trail_cause(region, trails)
    if cause:
        fix = "create a multi-region trail that logs management events (README, Deploying)"
        return [Check(f"trail {region}", FAIL, f"{cause}: new clusters would wait for the sweep", fix)]
    names = [
        t.name
        for t in trails
        if t.logging and all(event_path.admits(t, s) for s in event_path.WATCHED_SOURCES)
    ]
    return [
        Check(
            f"trail {region}",
            OK,
            f"{', '.join(names) or 'the logging trails'} record EKS and CloudWatch Logs writes",
        )
    ]


def check_filter_slots(aws: Aws, region: str, filter_name: str) -> list[Check]:
    """Each existing cluster's log group has room for eks-audit's filter, or the conflict to expect."""
    eks, logs = aws.client("eks", region), aws.client("logs", region)
    clusters = list(list_cluster_names(eks))
    crowded = []
    for cluster in clusters:
        try:
            filters = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{cluster}/cluster")[
                "subscriptionFilters"
            ]
        except logs.exceptions.ResourceNotFoundException:
            continue  # no log group yet: eks-audit creates it with its filter
        foreign = sorted(f["filterName"] for f in filters if f["filterName"] != filter_name)
        if len(foreign) >= constants.DEFAULT_SUBSCRIPTION_FILTER_LIMIT:
            crowded.append(f"{cluster} ({', '.join(foreign)})")
    if crowded:
        return [
            Check(
                f"filter room {region}",
                WARN,
                f"{len(crowded)} of {counted(len(clusters), 'cluster')}' log groups hold {constants.DEFAULT_SUBSCRIPTION_FILTER_LIMIT} "
                f"foreign subscription filters: {'; '.join(crowded)}; eks-audit will report them as conflicts "
                "(audit logging still enabled, nothing shipped)",
                "remove a foreign filter from each, or accept the conflict",
            )
        ]
    return [
        Check(
            f"filter room {region}",
            OK,
            f"{counted(len(clusters), 'cluster')}, room for eks-audit's filter in each",
        )
    ]


def check_key(aws: Aws, home: str, key_arn: str, account: str) -> list[Check]:
    if not key_arn:
        return [Check("KMS key", OK, "no KmsKeyArn: S3-managed encryption")]
    try:
        check_key_region(key_arn, home)
    except RegionsError as exc:
        return [Check("KMS key", FAIL, str(exc), "give a key of the home region")]
    kms = aws.client("kms", home)
    state = kms.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyState")
    if state != "Enabled":
        return [Check("KMS key", FAIL, f"{key_arn} is {state}", "enable the key or give another")]
    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    refusals = key_policy_refusals(policy.get("Statement", []), account)
    if refusals:
        return [
            Check(
                "KMS key",
                FAIL,
                "; ".join(refusals),
                'add the README\'s statements ("Encrypting with your own KMS key")',
            )
        ]
    return [Check("KMS key", OK, f"{key_arn}: its key policy admits S3 and this account's IAM policies")]


# (principal, the actions it needs, what uses them, the README statement that grants them)
KEY_USERS = (
    (
        "s3.amazonaws.com",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        "S3 notifies the encrypted topic",
        "S3NotifiesTheEncryptedTopic",
    ),
    (
        "root",
        ("kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"),
        "the stack's roles and the deployer use it through their IAM policies",
        "EnableIamPolicies",
    ),
)


def key_policy_refusals(statements: list[dict[str, Any]], account: str) -> list[str]:
    """Which principal the key policy leaves without which action (Allow statements without a
    condition; a statement with conditions is taken as not granting, since it may not)."""

    def listed(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    def grants(principal: str, action: str) -> bool:
        for statement in statements:
            if statement.get("Effect") != "Allow" or statement.get("Condition"):
                continue
            named = statement.get("Principal", {})
            if named == "*":
                who = True
            elif principal == "root":
                who = any(p in (f"arn:aws:iam::{account}:root", account) for p in listed(named.get("AWS")))
            else:
                who = principal in listed(named.get("Service"))
            if who and any(
                fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listed(statement.get("Action"))
            ):
                return True
        return False

    refusals = []
    for principal, actions, use, sid in KEY_USERS:
        missing = [a for a in actions if not grants(principal, a)]
        if missing:
            who = f"arn:aws:iam::{account}:root" if principal == "root" else principal
            refusals.append(
                f"the key policy does not let {who} use {', '.join(missing)}: {use} (statement {sid})"
            )
    return refusals


def check_permissions(aws: Aws, home: str, spokes: bool, key: bool) -> list[Check]:
    """What IAM's policy simulator answers for the caller and the deploy's main actions."""
    caller = aws.client("sts", home).get_caller_identity()["Arn"]
    principal = simulated_principal(caller)
    if principal is None:
        return [
            Check(
                "deploy permissions",
                WARN,
                f"{caller} cannot be simulated (the root user, or a federated user)",
            )
        ]
    actions = [*DEPLOY_ACTIONS, *(SPOKE_ACTIONS if spokes else ()), *(KEY_ACTIONS if key else ())]
    results = aws.client("iam", home).simulate_principal_policy(
        PolicySourceArn=principal, ActionNames=actions
    )["EvaluationResults"]
    denied = sorted(r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed")
    scope = (
        "IAM's simulator weighs identity policies, the permissions boundary and the organization's SCPs; "
        "not an assumed role's session policy, nor resource policies"
    )
    if denied:
        return [
            Check(
                "deploy permissions",
                FAIL,
                f"{principal} may not: {', '.join(denied)} ({scope})",
                "grant them, or deploy as a principal that has them",
            )
        ]
    return [
        Check(
            "deploy permissions",
            OK,
            f"{principal} may call the deploy's {len(actions)} main actions ({scope})",
        )
    ]


def simulated_principal(caller: str) -> str | None:
    """The IAM entity behind the caller: a role for an assumed-role session, the user for a user."""
    parts = caller.split(":")
    if len(parts) < 6:
        return None
    resource = parts[5]
    if resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    if resource.startswith(("user/", "role/")):
        return f"arn:{parts[1]}:iam::{parts[4]}:{resource}"
    return None


# -- after a deploy -----------------------------------------------------------------------------------


def check_event_path(aws: Aws, stack: DeployedStack, region: str, window_s: int) -> list[Check]:
    target = stack.events_target(region)
    if target is None:
        return [Check(f"event path {region}", WARN, "not checked: the stack's outputs do not name its queue")]
    path = event_path.check(aws.client, region, target, stack.sweep_schedule, window_s)
    if path.ok is None:
        return [Check(f"event path {region}", WARN, path.cause or "not checked")]
    if not path.ok:
        return [
            Check(f"event path {region}", FAIL, path.cause or "", "README, Deploying: the trail it needs")
        ]
    return [
        Check(
            f"event path {region}",
            OK,
            f"trail {', '.join(path.trails)}; rules {', '.join(sorted(path.rules))} ENABLED",
        )
    ]


def check_delivery(aws: Aws, stack: DeployedStack, region: str) -> list[Check]:
    settings = stack.settings().for_region(region)
    bucket, _prefix = stack.delivery_location(region)
    broken = pipeline_parts.broken_parts(
        aws.client, region, settings.firehose_arn, stack.topic_arn(region), bucket
    )
    if broken:
        return [Check(f"delivery {region}", FAIL, "; ".join(broken), "redeploy the stack (sam deploy)")]
    return [Check(f"delivery {region}", OK, "stream ACTIVE, bucket and topic in place")]


def check_dead_letters(aws: Aws, stack: DeployedStack) -> list[Check]:
    url = stack.outputs.get("DeadLetterQueueUrl")
    if not url:
        return [Check("dead-letter queue", WARN, "not checked: the stack's outputs do not name it")]
    attributes = aws.client("sqs", stack.region).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    if waiting:
        return [
            Check(
                "dead-letter queue",
                WARN,
                f"{waiting} messages the controller gave up on",
                f"read them (aws sqs receive-message --queue-url {url}), fix the cause, run eks-audit backfill",
            )
        ]
    return [Check("dead-letter queue", OK, "empty")]


def check_last_sweep(aws: Aws, stack: DeployedStack) -> list[Check]:
    """The sweeper ran within two of its intervals (AWS/Lambda Invocations of the function)."""
    function = stack.outputs.get("SweeperFunctionName")
    if not function:
        return [Check("last sweep", WARN, "not checked: the stack's outputs do not name the sweeper")]
    interval = schedule_seconds(stack.sweep_schedule)
    end = datetime.now(UTC)
    answer = aws.client("cloudwatch", stack.region).get_metric_data(
        MetricDataQueries=[
            {
                "Id": name.lower(),
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": name,
                        "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    },
                    "Period": 2 * interval,
                    "Stat": "Sum",
                },
            }
            for name in ("Invocations", "Errors")
        ],
        StartTime=end - timedelta(seconds=2 * interval),
        EndTime=end,
    )
    sums = {r["Id"]: sum(r.get("Values", [])) for r in answer.get("MetricDataResults", [])}
    hours = f"{2 * interval / 3600:g} hours"
    if not sums.get("invocations"):
        return [
            Check(
                "last sweep",
                WARN,
                f"{function} did not run in the last {hours}",
                "check its schedule rule and logs",
            )
        ]
    if sums.get("errors"):
        return [
            Check(
                "last sweep",
                WARN,
                f"{function} failed {int(sums['errors'])} of {int(sums['invocations'])} runs in the last {hours}",
                "read its log group",
            )
        ]
    return [Check("last sweep", OK, f"{function} ran {int(sums['invocations'])} times in the last {hours}")]


def schedule_seconds(schedule: str) -> int:
    units = {"minute": 60, "hour": 3600, "day": 86400}
    words = schedule.strip().removeprefix("rate(").removesuffix(")").split()
    if len(words) == 2 and words[0].isdigit() and words[1].rstrip("s") in units:
        return int(words[0]) * units[words[1].rstrip("s")]
    return 86400  # a cron expression: a day is a safe bound for "recently"


# -- AWS's own features ----------------------------------------------------------------------------------


def check_features(aws: Aws, region: str, account: str) -> list[Check]:
    found = [
        aws_features.telemetry_rules(aws.client, region),
        aws_features.security_lake(aws.client, region, account),
    ]
    checks = []
    for finding in found:
        if finding.found is None:
            checks.append(Check(f"{finding.feature} {region}", WARN, finding.text))
        elif finding.found and finding.feature == "Security Lake source":
            checks.append(
                Check(
                    f"{finding.feature} {region}",
                    WARN,
                    finding.text,
                    "keep one collection, or both on purpose",
                )
            )
        else:
            checks.append(Check(f"{finding.feature} {region}", OK, finding.text))
    return checks


# -- the command ---------------------------------------------------------------------------------------


def run(
    aws: Aws,
    stack_name: str,
    home: str,
    spoke_regions: str | None,
    key_arn: str | None,
    filter_name: str | None,
    window_s: int,
) -> list[Check]:
    account = aws.client("sts", home).get_caller_identity()["Account"]
    deployments = aws.deployments(stack_name, [home], home)
    stack = deployments.homes.get(home) or next(iter(deployments.homes.values()), None)
    parameters = stack.parameters if stack else {}
    spoke_regions = spoke_regions if spoke_regions is not None else parameters.get("SpokeRegions", "ALL")
    key_arn = key_arn if key_arn is not None else parameters.get("KmsKeyArn", "")
    filter_name = filter_name or (stack.settings().filter_name if stack else constants.DEFAULT_FILTER_NAME)
    checks = [
        Check("stack", OK, f"{stack.name} in {stack.region}, covering {', '.join(stack.covered_regions)}")
        if stack
        else Check("stack", OK, f"{stack_words(stack_name)} yet: checking what a deploy needs")
    ]
    region_checks, regions = check_regions(aws, home, spoke_regions)
    checks += region_checks
    if stack:
        regions = list(stack.covered_regions)
    for region in regions:
        if stack:
            checks += guarded(
                f"event path {region}", lambda r=region: check_event_path(aws, stack, r, window_s)
            )
            checks += guarded(f"delivery {region}", lambda r=region: check_delivery(aws, stack, r))
        else:
            checks += guarded(f"trail {region}", lambda r=region: check_trails(aws, r))
        checks += guarded(f"filter room {region}", lambda r=region: check_filter_slots(aws, r, filter_name))
        checks += check_features(aws, region, account)
    organization = aws_features.organization_telemetry_rules(aws.client, home)
    checks.append(Check(organization.feature, WARN if organization.found is None else OK, organization.text))
    checks += guarded("KMS key", lambda: check_key(aws, home, key_arn, account))
    checks += guarded(
        "deploy permissions", lambda: check_permissions(aws, home, len(regions) > 1, bool(key_arn))
    )
    if stack:
        checks += guarded("dead-letter queue", lambda: check_dead_letters(aws, stack))
        checks += guarded("last sweep", lambda: check_last_sweep(aws, stack))
    return checks


@click.command("doctor")
@stack_name_option
@home_region_option
@click.option(
    "--spoke-regions", default=None, help="As the deploy's SpokeRegions (default: the stack's, else ALL)."
)
@click.option(
    "--kms-key-arn", default=None, help="As the deploy's KmsKeyArn (default: the stack's, else none)."
)
@click.option(
    "--filter-name", default=None, help="As the deploy's FilterName (default: the stack's, else eks-audit)."
)
@click.option(
    "--window", default="1h", show_default=True, help="How far back the rules' failures are counted."
)
@global_options(verbose=True)
@click.pass_obj
def command(globals_, stack_name, home_region, spoke_regions, kms_key_arn, filter_name, window) -> None:
    """Check this account before a deploy (will `sam deploy` and onboarding work here?) and after it
    (does everything they rely on still hold?). One line per check, OK / WARN / FAIL with the fix;
    reads only. Exit 0 when nothing FAILs, 1 otherwise, 2 when it could not run."""
    from .delivery_health import parse_duration

    try:
        window_s = int(parse_duration(window))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions, verbose=globals_.verbose)
    home = home_region or (globals_.regions[0] if globals_.regions else None) or aws.session.region_name
    if not home:
        click.echo("eks-audit doctor: no home region: give --home-region or --region", err=True)
        sys.exit(CANNOT_RUN)
    checks = run(aws, stack_name, home, spoke_regions, kms_key_arn, filter_name, window_s)
    failed = any(c.level == FAIL for c in checks)
    if globals_.json:
        click.echo(json.dumps({"ok": not failed, "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        for check in checks:
            click.echo(check.line())
        counts = {level: sum(1 for c in checks if c.level == level) for level in (OK, WARN, FAIL)}
        click.echo(f"\n{counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL")
    sys.exit(1 if failed else 0)
