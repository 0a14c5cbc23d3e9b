"""`eks-audit doctor`: will `sam deploy` and onboarding work in this account, and, once deployed, does
everything they rely on still hold? One line per check, OK / WARN / FAIL with the fix; it reads only.

Before a deploy (no stack yet): the regions SpokeRegions would cover, each covered region's trail and
selectors (event_path), room for eks-audit's filter in each existing cluster's log group, KmsKeyArn's
key and key policy, the eks-audit stacks there are, and whether the caller may create what the deploy
creates (IAM's policy simulator). After: the event path (trails, the stack's rules, their failures),
the delivery path (stream, bucket, topic), the dead-letter queue and the last sweep. Both: AWS's own
telemetry rules and Security Lake sources for EKS audit logs (aws_features).

A check whose call is denied is WARN naming the action (a service control policy's denial said as
such); any other AWS error is WARN in one line; no credentials or no network ends the command (exit 2).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from eks_audit import constants
from eks_audit.regions import RegionsError, check_key_region, resolve_coverage
from eks_audit.sweep import list_cluster_names

from . import aws_features, event_path, pipeline_parts
from .errors import CANNOT_RUN, DENIED, denied_by_scp, is_fatal, scp_refusal
from .options import global_options, home_region_option, stack_name_option
from .session import Aws
from .stack import DeployedStack, placeholder_settings, stack_words
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
# template.yaml's Parameters: the names --parameter-overrides takes (tests/unit/test_doctor.py holds
# this list to the template, which the installed CLI does not carry)
TEMPLATE_PARAMETERS = (
    "ConsumerPrincipal",
    "ExternalId",
    "ConsumerQueueArn",
    "FilterPattern",
    "FilterName",
    "IncludeClusters",
    "ExcludeClusters",
    "LogRetentionDays",
    "BufferingSeconds",
    "BufferingMegabytes",
    "ObjectExpiryDays",
    "KmsKeyArn",
    "SweepSchedule",
    "ReconcilerMaxConcurrency",
    "MaxReceiveCount",
    "AlarmTopicArn",
    "SpokeRegions",
    "NamePrefix",
    "SpokesManagedBy",
    "OrgAdministratorAccount",
    "OrganizationId",
    "RegionsRevision",
)
# the parameters the checks read, with template.yaml's defaults (held to the template too)
CHECKED_DEFAULTS = {
    "SpokeRegions": "ALL",
    "KmsKeyArn": "",
    "FilterName": constants.DEFAULT_FILTER_NAME,
    "IncludeClusters": ".*",
    "ExcludeClusters": "",
}
# what a check can meet that is AWS's doing, not a bug: one WARN each (not_checked)
REFUSALS = (ClientError, BotoCoreError, ResponseParserError, event_path.NotChecked)
# IAM's access denied messages name the action: "User: <arn> is not authorized to perform:
# <service:Action> ..." (IAM User Guide, reference_policies_access-denied-messages)
DENIED_ACTION_RE = re.compile(r"not authorized to perform: ([\w-]+:[\w*]+)")
GRANT_FIX = "grant it to run this check"
SCP_FIX = "the organization's administrators decide it"


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
    except REFUSALS as exc:
        return [not_checked(name, exc)]


def not_checked(name: str, exc: Exception) -> Check:
    """The one WARN for a check AWS refused or failed; what no check escapes (no credentials, no
    network) is raised again."""
    if is_fatal(exc):
        raise exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), str(error.get("Message", ""))
        if code in DENIED:
            named = DENIED_ACTION_RE.search(message)
            action = named.group(1) if named else getattr(exc, "operation_name", "") or "a call"
            if scp_refusal(message):
                return Check(name, WARN, f"not checked: {action} denied by a service control policy", SCP_FIX)
            return Check(name, WARN, f"not checked: {action} denied", GRANT_FIX)
        action = getattr(exc, "operation_name", "") or "a call"
        return Check(name, WARN, f"not checked: {action}: {code}: {message}")
    if isinstance(exc, event_path.NotChecked):  # its text names the action
        if exc.cause is not None and is_fatal(exc.cause):
            raise exc.cause
        denied = isinstance(exc.cause, ClientError) and exc.cause.response["Error"].get("Code") in DENIED
        fix = (SCP_FIX if denied_by_scp(exc.cause) else GRANT_FIX) if denied else ""
        return Check(name, WARN, f"not checked: {exc}", fix)
    if isinstance(exc, ResponseParserError):  # an endpoint that answers what botocore cannot read
        return Check(name, WARN, f"not checked: an unreadable answer ({str(exc).splitlines()[0]})")
    return Check(name, WARN, f"not checked: {exc}")


# -- before a deploy ----------------------------------------------------------------------------------


def check_regions(aws: Aws, home: str, spoke_regions: str) -> tuple[list[Check], list[str]]:
    """The regions the deploy would cover (SpokeRegions against the account's enabled regions)."""
    try:
        coverage = resolve_coverage(aws.client("ec2", home), home, spoke_regions)
    except RegionsError as exc:
        return [Check("regions", FAIL, str(exc), "fix SpokeRegions")], [home]
    except REFUSALS as exc:
        warned, regions = not_checked("regions", exc), listed_regions(home, spoke_regions)
        unread = (
            f"checking {home} alone"
            if len(regions) == 1
            else f"checking {', '.join(regions)} as SpokeRegions lists them, enabled or not"
        )
        return [replace(warned, detail=f"{warned.detail}; {unread}")], regions
    regions = [home, *coverage.spokes]
    opt_in = f" (opt-in regions: {', '.join(coverage.opted_in)})" if coverage.opted_in else ""
    return [Check("regions", OK, f"covers {', '.join(regions)}{opt_in}")], regions


def listed_regions(home: str, spoke_regions: str) -> list[str]:
    """The regions SpokeRegions names, home first, known without asking AWS (ALL names none)."""
    if spoke_regions.strip().upper() == "ALL":
        return [home]
    return list(dict.fromkeys([home, *(r.strip() for r in spoke_regions.split(",") if r.strip())]))


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


def check_filter_slots(
    aws: Aws, region: str, filter_name: str, in_scope: Callable[[str], bool] = lambda _: True
) -> list[Check]:
    """Each existing cluster in scope has room in its log group for eks-audit's filter, or the
    conflict to expect; those IncludeClusters/ExcludeClusters leave out are only counted."""
    eks, logs = aws.client("eks", region), aws.client("logs", region)
    listed = list(list_cluster_names(eks))
    clusters = [cluster for cluster in listed if in_scope(cluster)]
    left_out = len(listed) - len(clusters)
    aside = f"; {left_out} more out of scope (IncludeClusters, ExcludeClusters)" if left_out else ""
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
                f"(audit logging still enabled, nothing shipped){aside}",
                "remove a foreign filter from each, or accept the conflict",
            )
        ]
    return [
        Check(
            f"filter room {region}",
            OK,
            f"{counted(len(clusters), 'cluster')}, room for eks-audit's filter in each{aside}",
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
    by_scp, denied = simulator_denials(results)
    scope = simulator_scope(results)
    if by_scp or denied:
        refused = [
            *([f"{principal} may not: {', '.join(denied)}"] if denied else []),
            *([f"denied by a service control policy: {', '.join(by_scp)}"] if by_scp else []),
        ]
        fixes = [
            *(["grant them, or deploy as a principal that has them"] if denied else []),
            *(
                ["ask the organization's administrators, or deploy in an account its SCPs allow"]
                if by_scp
                else []
            ),
        ]
        return [Check("deploy permissions", FAIL, f"{'; '.join(refused)} ({scope})", "; ".join(fixes))]
    return [
        Check(
            "deploy permissions",
            OK,
            f"{principal} may call the deploy's {len(actions)} main actions ({scope})",
        )
    ]


def simulator_denials(results: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(the actions a service control policy denies, the others the caller's policies deny) in
    SimulatePrincipalPolicy's EvaluationResults: OrganizationsDecisionDetail.AllowedByOrganizations
    False is the former (IAM API reference, EvaluationResult)."""
    by_scp = sorted(
        r["EvalActionName"]
        for r in results
        if (r.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations") is False
    )
    denied = sorted(
        r["EvalActionName"]
        for r in results
        if r["EvalDecision"] != "allowed" and r["EvalActionName"] not in by_scp
    )
    return by_scp, denied


def simulator_scope(results: list[dict[str, Any]]) -> str:
    """What the simulator's answer weighed: the SCPs only where it says how they decided
    (OrganizationsDecisionDetail: "Only applies if the simulated user's account is part of an
    organization", and left out for what organization-level evaluation does not support)."""
    unseen = "not an assumed role's session policy, nor resource policies"
    if any("OrganizationsDecisionDetail" in r for r in results):
        return f"IAM's simulator weighs identity policies, the permissions boundary and the organization's SCPs; {unseen}"
    return (
        "IAM's simulator weighs identity policies and the permissions boundary and said nothing of "
        f"service control policies; {unseen}"
    )


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


def check_organization_rules(aws: Aws, regions: list[str]) -> list[Check]:
    """The organization's telemetry rules of each region (a rule lives in a region and the ones it is
    replicated to: TelemetryRule.Regions); unreadable (a member account may not list them) is one
    WARN, and the other regions are not asked."""
    checks = []
    for region in regions:
        finding = aws_features.organization_telemetry_rules(aws.client, region)
        if finding.found is None:
            return [*checks, Check(finding.feature, WARN, finding.text)]
        checks.append(Check(f"{finding.feature} {region}", OK, finding.text))
    return checks


# -- the deploy's parameters -----------------------------------------------------------------------------


class BadParameters(ValueError):
    """--parameter-overrides that sam deploy would not take: the text says which."""


def parse_overrides(values: Iterable[str], known: Iterable[str] = TEMPLATE_PARAMETERS) -> dict[str, str]:
    """--parameter-overrides as `sam deploy` takes them: `Key=Value Key2="value with spaces"` or
    `ParameterKey=Key,ParameterValue=Value`, split as a shell splits words (AWS SAM CLI reference,
    sam deploy); each key one of template.yaml's Parameters."""
    parsed: dict[str, str] = {}
    for value in values:
        try:
            words = shlex.split(value)
        except ValueError as exc:  # an unclosed quote
            raise BadParameters(f"--parameter-overrides {value!r}: {exc}") from None
        for word in words:
            long_form = re.fullmatch(r"ParameterKey=([^,]*),ParameterValue=(.*)", word, re.S)
            key, equals, given = (long_form[1], "=", long_form[2]) if long_form else word.partition("=")
            if not key or not equals:
                raise BadParameters(f"--parameter-overrides {word!r}: expected Key=Value")
            parsed[key] = given
    unknown = [key for key in parsed if key not in set(known)]
    if unknown:
        raise BadParameters(
            f"--parameter-overrides names {', '.join(unknown)}: not a parameter of template.yaml"
        )
    return parsed


def checked_parameters(
    options: Mapping[str, str | None], overrides: Mapping[str, str], stack: DeployedStack | None
) -> dict[str, str]:
    """The parameters the checks read: an option given, else --parameter-overrides, else the deployed
    stack's, else template.yaml's defaults."""
    deployed = dict(stack.parameters) if stack else {}
    if stack and stack.outputs.get("FilterName"):
        deployed["FilterName"] = stack.outputs["FilterName"]
    given = {name: value for name, value in options.items() if value is not None}
    return {
        name: given.get(name, overrides.get(name, deployed.get(name, default)))
        for name, default in CHECKED_DEFAULTS.items()
    }


def cluster_scope(include: str, exclude: str) -> Callable[[str], bool]:
    """Whether the controller would take a cluster of that name (Settings.name_in_scope: each regex
    matches the whole name; an empty IncludeClusters is everything)."""
    scope = replace(placeholder_settings(""), include_clusters=include or ".*", exclude_clusters=exclude)
    return scope.name_in_scope


def check_scope(include: str, exclude: str) -> tuple[list[Check], Callable[[str], bool]]:
    """No line for a scope the controller takes; a FAIL for a regex it would refuse (it validates its
    settings at its first invocation), and then every cluster is counted."""
    for name, value in (("IncludeClusters", include), ("ExcludeClusters", exclude)):
        try:
            re.compile(value)
        except re.error as exc:
            refused = f"{name} {value!r} is not a regular expression ({exc}): the controller would refuse it"
            return [Check("cluster scope", FAIL, refused, f"fix {name}")], lambda _: True
    return [], cluster_scope(include, exclude)


# -- the command ---------------------------------------------------------------------------------------


def look_for_stack(aws: Aws, stack_name: str | None, home: str) -> tuple[DeployedStack | None, Check]:
    """The deployed stack and its line; a lookup AWS refuses is a WARN, and the checks go on as
    before a deploy."""
    try:
        deployments = aws.deployments(stack_name, [home], home)
    except REFUSALS as exc:
        warned = not_checked("stack", exc)
        return None, replace(warned, detail=f"{warned.detail}: checking what a deploy needs")
    stack = deployments.homes.get(home) or next(iter(deployments.homes.values()), None)
    if stack is None:
        return None, Check("stack", OK, f"{stack_words(stack_name)} yet: checking what a deploy needs")
    covered = ", ".join(stack.covered_regions)
    return stack, Check("stack", OK, f"{stack.name} in {stack.region}, covering {covered}")


def run(
    aws: Aws,
    stack_name: str | None,
    home: str,
    options: Mapping[str, str | None],
    overrides: Mapping[str, str],
    window_s: int,
) -> list[Check]:
    account = aws.client("sts", home).get_caller_identity()["Account"]
    stack, found = look_for_stack(aws, stack_name, home)
    parameters = checked_parameters(options, overrides, stack)
    key_arn, filter_name = parameters["KmsKeyArn"], parameters["FilterName"]
    checks = [found]
    region_checks, regions = check_regions(aws, home, parameters["SpokeRegions"])
    checks += region_checks
    scope_checks, in_scope = check_scope(parameters["IncludeClusters"], parameters["ExcludeClusters"])
    checks += scope_checks
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
        checks += guarded(
            f"filter room {region}", lambda r=region: check_filter_slots(aws, r, filter_name, in_scope)
        )
        checks += check_features(aws, region, account)
    checks += check_organization_rules(aws, regions)
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
    "--parameter-overrides",
    "parameter_overrides",
    multiple=True,
    metavar="'KEY=VALUE ...'",
    help="As `sam deploy --parameter-overrides` (template.yaml's Parameters); the options below win.",
)
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
def command(
    globals_,
    stack_name,
    home_region,
    parameter_overrides,
    spoke_regions,
    kms_key_arn,
    filter_name,
    window,
) -> None:
    """Check this account before a deploy (will `sam deploy` and onboarding work here?) and after it
    (does everything they rely on still hold?). One line per check, OK / WARN / FAIL with the fix;
    reads only. Exit 0 when nothing FAILs, 1 otherwise, 2 when it could not run."""
    from .delivery_health import parse_duration

    try:
        window_s = int(parse_duration(window))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None
    try:
        overrides = parse_overrides(parameter_overrides)
    except BadParameters as exc:
        click.echo(f"eks-audit doctor: {exc}", err=True)
        sys.exit(CANNOT_RUN)
    options = {"SpokeRegions": spoke_regions, "KmsKeyArn": kms_key_arn, "FilterName": filter_name or None}
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions, verbose=globals_.verbose)
    home = home_region or (globals_.regions[0] if globals_.regions else None) or aws.session.region_name
    if not home:
        click.echo("eks-audit doctor: no home region: give --home-region or --region", err=True)
        sys.exit(CANNOT_RUN)
    checks = run(aws, stack_name, home, options, overrides, window_s)
    failed = any(c.level == FAIL for c in checks)
    if globals_.json:
        click.echo(json.dumps({"ok": not failed, "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        for check in checks:
            click.echo(check.line())
        counts = {level: sum(1 for c in checks if c.level == level) for level in (OK, WARN, FAIL)}
        click.echo(f"\n{counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL")
    sys.exit(1 if failed else 0)
