"""`eks-audit consumer check`: the consumer's path, checked as the consumer would use it.

Lacework's template "validates that there are no access issues when reading from the S3 bucket";
this does the same, for every covered region:
- the consumer role trusts the stack's consumer principal, with the stack's external ID (IAM);
- the topic's policy lets that principal subscribe, and each region's notifications reach the topic
  (the home bucket notifies it; each spoke's topic delivers to the relay queue);
- the role, assumed with the external ID, reads the newest object of each region, which decodes.
Each finding is a pure function of what AWS answered (`judge_*`), so that the reasons are tested
without an account.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
import click
from botocore.exceptions import BotoCoreError, ClientError

from eks_audit.delivery import iter_log_events

from .coverage import columns
from .options import global_options, home_region_option, stack_name_option
from .org import DEFAULT_ORG_STACK_NAME, integrations, no_org_stack, org_coverage
from .session import Aws
from .stack import DeployedStack, StackNotFound, stack_words


@dataclass
class RegionCheck:
    region: str
    notified: bool = False
    readable: bool = False
    decodable: bool = False
    problems: list[str] = field(default_factory=list)
    newest: str | None = None
    events: int = 0

    @property
    def ok(self) -> bool:
        return self.notified and self.readable and self.decodable and not self.problems


# -- judgements of what AWS answered (pure) ------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def principal_forms(principal: str) -> set[str]:
    """An account ID and its root ARN name the same principal (IAM stores the ARN form)."""
    if principal.isdigit():
        return {principal, f"arn:aws:iam::{principal}:root"}
    return {principal}


def judge_trust(trust: dict, principal: str, external_id: str) -> list[str]:
    """Why the consumer could not assume the role, from its trust policy; [] when it can."""
    wanted = principal_forms(principal)
    admitting = [
        s
        for s in trust.get("Statement", [])
        if s.get("Effect") == "Allow"
        and "sts:AssumeRole" in _listed(s.get("Action"))
        and wanted & set(_listed((s.get("Principal") or {}).get("AWS")))
    ]
    if not admitting:
        trusted = sorted(
            {p for s in trust.get("Statement", []) for p in _listed((s.get("Principal") or {}).get("AWS"))}
        )
        return [f"trust refused: the role trusts {', '.join(trusted) or 'no AWS principal'}, not {principal}"]
    required = {
        value
        for s in admitting
        for value in _listed(s.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId"))
    }
    if external_id not in required:
        return [
            f"external ID wrong: the role requires {', '.join(sorted(required)) or 'none'}, the stack says {external_id}"
        ]
    return []


def judge_topic_policy(policy: dict, principal: str) -> list[str]:
    wanted = principal_forms(principal)
    for s in policy.get("Statement", []):
        if (
            s.get("Effect") == "Allow"
            and "sns:Subscribe" in _listed(s.get("Action"))
            and wanted & set(_listed((s.get("Principal") or {}).get("AWS")))
        ):
            return []
    return [f"the topic's policy does not let {principal} subscribe (sns:Subscribe)"]


# AWS's words when KMS refuses (S3 passes them on): "User: <principal> is not authorized to perform:
# kms:Decrypt on the resource associated with this ciphertext because no identity-based policy
# allows the kms:Decrypt action", or "... on resource: <key ARN> because no resource-based policy
# allows ..." or "... with an explicit deny in a resource-based policy" (a key's resource-based
# policy is its key policy).
KMS_REFUSAL = re.compile(
    r"User: (?P<principal>\S+) is not authorized to perform: (?P<action>kms:\w+)"
    r"(?: on (?:resource: (?P<key>[^\s]+)|the resource associated with this ciphertext))?"
    r"(?: (?:because|with) (?P<because>[^.]+))?"
)


def judge_kms_refusal(message: str, what: str, key_arn: str = "") -> str | None:
    """A KMS refusal in words: which policy refuses (the key's or the principal's), the principal
    and the action AWS named; None when the message is not one."""
    found = KMS_REFUSAL.search(message)
    if found is None:
        return None
    key = found["key"] or key_arn or "the bucket's KMS key"
    because = found["because"] or ""
    if "resource-based policy" in because:
        refuser = f"the key policy of {key}"
    elif "identity-based policy" in because:
        refuser = f"the policy of {found['principal']} (key {key})"
    else:
        refuser = f"KMS (key {key})"
    reason = f": {because}" if because else ""
    return (
        f"{refuser} refuses {found['action']} to {found['principal']} for {what}{reason} "
        '(README, "Encrypting with your own KMS key")'
    )


def judge_read_error(exc: ClientError, what: str, key_arn: str = "") -> str:
    """AWS's refusal of a read, in words: KMS, the bucket or role policy, or a missing bucket."""
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    refused_by_kms = judge_kms_refusal(message, what, key_arn)
    if refused_by_kms is not None:
        return refused_by_kms
    if "KMS" in code or "kms" in message.lower():
        return f"KMS denies {what}: {code}: {message}"
    if code in ("AccessDenied", "403", "Forbidden"):
        return f"the bucket policy or the role's policy denies {what} ({code})"
    if code in ("NoSuchBucket", "404"):
        return f"no such bucket for {what}"
    return f"{what}: {code}: {message}"


# -- the check --------------------------------------------------------------------------------------


def check_setup(aws: Aws, stack: DeployedStack) -> list[str]:
    """The role's trust and the topic's policy, as the operator reads them."""
    principal, external_id = stack.parameters.get("ConsumerPrincipal", ""), stack.outputs["ExternalId"]
    role_name = stack.outputs["ConsumerRoleArn"].rsplit("/", 1)[1]
    trust = aws.client("iam", stack.region).get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    problems = judge_trust(trust, principal, external_id)
    attributes = aws.client("sns", stack.region).get_topic_attributes(TopicArn=stack.outputs["TopicArn"])
    policy = json.loads(attributes["Attributes"].get("Policy", "{}"))
    return problems + judge_topic_policy(policy, principal)


def notified(aws: Aws, stack: DeployedStack, region: str) -> list[str]:
    """Whether `region`'s objects reach the one topic: the home bucket notifies it; a spoke's topic
    must deliver to the relay queue, which the forwarder publishes from."""
    if region == stack.region:
        configuration = aws.client("s3", region).get_bucket_notification_configuration(
            Bucket=stack.outputs["BucketName"]
        )
        topics = [c.get("TopicArn") for c in configuration.get("TopicConfigurations", [])]
        return [] if stack.outputs["TopicArn"] in topics else ["the bucket does not notify the topic"]
    account = stack.outputs["TopicArn"].split(":")[4]
    topic = f"arn:aws:sns:{region}:{account}:{stack.topic_name(region)}"
    subscriptions = aws.client("sns", region).list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    relay = stack.outputs.get("RelayQueueArn")
    if not any(
        s["Endpoint"] == relay and not s["SubscriptionArn"].startswith("Pending") for s in subscriptions
    ):
        return [
            f"the region's topic does not deliver to the relay queue {relay}: its objects never reach the topic"
        ]
    return []


def read_newest(s3: Any, bucket: str, prefix: str, result: RegionCheck) -> None:
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if newest is None or (item["LastModified"], item["Key"]) > (
                newest["LastModified"],
                newest["Key"],
            ):
                newest = item
    if newest is None:
        result.problems.append(f"no object yet under s3://{bucket}/{prefix}")
        return
    result.newest = f"s3://{bucket}/{newest['Key']}"
    body = s3.get_object(Bucket=bucket, Key=newest["Key"])["Body"]
    result.readable = True
    problems: list[str] = []
    result.events = sum(1 for _ in iter_log_events(body, lambda problem: problems.append(str(problem))))
    result.decodable = not problems
    result.problems += [f"{result.newest}: {p}" for p in problems]


def assumed_s3(aws: Aws, stack: DeployedStack) -> tuple[Any | None, str | None]:
    """An S3 client factory with the consumer role's credentials, or the reason there is none."""
    sts = aws.client("sts", stack.region)
    try:
        credentials = sts.assume_role(
            RoleArn=stack.outputs["ConsumerRoleArn"],
            RoleSessionName="eks-audit-consumer-check",
            ExternalId=stack.outputs["ExternalId"],
        )["Credentials"]
    except ClientError as exc:
        caller = sts.get_caller_identity().get("Arn", "this identity")
        return None, (
            f"cannot assume {stack.outputs['ConsumerRoleArn']} from {caller}: "
            f"{exc.response['Error'].get('Message', exc)} (run with the consumer's credentials, --profile)"
        )
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return (lambda region: session.client("s3", region_name=region, endpoint_url=aws.endpoint_url)), None


def run_check(aws: Aws, stack: DeployedStack, regions: list[str]) -> tuple[list[str], list[RegionCheck]]:
    setup = check_setup(aws, stack)
    s3_for, refused = assumed_s3(aws, stack)
    if refused:
        setup.append(refused)
    results = []
    for region in regions:
        result = RegionCheck(region)
        found = notified(aws, stack, region)
        result.notified, result.problems = not found, found
        if s3_for is not None:
            bucket, prefix = stack.delivery_location(region)
            try:
                read_newest(s3_for(region), bucket, prefix, result)
            except ClientError as exc:
                result.problems.append(
                    judge_read_error(exc, f"s3://{bucket}/{prefix}", stack.parameters.get("KmsKeyArn", ""))
                )
            except BotoCoreError as exc:
                result.problems.append(f"s3://{bucket}/{prefix}: {exc}")
        results.append(result)
    return setup, results


@click.group("consumer")
def group() -> None:
    """What the security consumer sees."""


@group.command("check")
@stack_name_option
@home_region_option
@global_options
@click.pass_obj
def check(globals_, stack_name, home_region) -> None:
    """Check the consumer's path: the role's trust and external ID, the topic's policy and
    subscriptions, and, through the role assumed with the external ID, that the newest object of
    each covered region is readable and decodes. Exit 1 on any failure, with the reason."""
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions)
    asked = aws.regions()
    deployments = aws.deployments(stack_name, asked, home_region)
    if not deployments.homes:
        click.echo(
            f"eks-audit consumer check: {stack_words(stack_name)} in {', '.join(asked)}",
            err=True,
        )
        sys.exit(2)
    failed = False
    report: list[dict] = []
    for stack in deployments.homes.values():
        regions = [r for r in stack.covered_regions if not globals_.regions or r in asked]
        setup, results = run_check(aws, stack, regions)
        failed = failed or bool(setup) or not all(r.ok for r in results)
        report.append(
            {"stack": stack.region, "problems": setup, "regions": [asdict(r) | {"ok": r.ok} for r in results]}
        )
        if not globals_.json:
            click.echo(
                f"stack in {stack.region}: role {stack.outputs['ConsumerRoleArn']}, topic {stack.outputs['TopicArn']}"
            )
            for problem in setup:
                click.echo(f"  FAIL  {problem}")
            click.echo(f"  {'REGION':<16}{'NOTIFIED':<10}{'READABLE':<10}{'DECODES':<9}DETAIL")
            for r in results:
                yes = {True: "yes", False: "no"}
                detail = "; ".join(r.problems) or f"{r.events} events in {r.newest}"
                click.echo(
                    f"  {r.region:<16}{yes[r.notified]:<10}{yes[r.readable]:<10}{yes[r.decodable]:<9}{detail}"
                )
    if globals_.json:
        click.echo(json.dumps({"stacks": report, "ok": not failed}, indent=2))
    sys.exit(1 if failed else 0)


@group.command("integrations")
@stack_name_option
@click.option(
    "--org",
    "organization",
    is_flag=True,
    help="One integration per account of the organization (run from the management or delegated-admin account).",
)
@click.option(
    "--org-stack-name",
    default=DEFAULT_ORG_STACK_NAME,
    show_default=True,
    help="With --org: org.yaml's stack.",
)
@home_region_option
@global_options(only=("regions", "profile", "endpoint_url", "json"))
@click.pass_obj
def integrations_command(globals_, stack_name, organization, org_stack_name, home_region) -> None:
    """What the consumer's integration needs, per account: the SNS topic, the role ARN and the
    external ID (Lacework: sns_arn, credentials.role_arn, credentials.external_id). With --org,
    every covered account's, read through its read-only role; accounts not covered are named."""
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions)
    region = home_region or aws.session.region_name or "us-east-1"
    uncovered: list[dict[str, str]] = []
    if organization:
        try:
            org_stack, coverages = org_coverage(aws, org_stack_name, region)
        except StackNotFound:
            click.echo(no_org_stack("consumer integrations --org", org_stack_name, region), err=True)
            sys.exit(2)
        entries = integrations(aws, org_stack, coverages)
        uncovered = [
            {"account": c.account, "name": c.name, "reason": c.reason} for c in coverages if not c.deployed
        ]
    else:
        deployments = aws.deployments(stack_name, aws.regions(), home_region)
        if not deployments.homes:
            click.echo(f"eks-audit consumer integrations: {stack_words(stack_name)}", err=True)
            sys.exit(2)
        entries = [integration_of(stack) for stack in deployments.homes.values()]
    if globals_.json:
        click.echo(json.dumps({"integrations": entries, "not_covered": uncovered}, indent=2))
    else:
        click.echo(render_integrations(entries))
        for entry in uncovered:
            click.echo(f"not covered: {entry['account']} {entry['name']}: {entry['reason']}")
    sys.exit(1 if any("problem" in entry for entry in entries) else 0)


def integration_of(stack: DeployedStack) -> dict[str, str]:
    account = stack.outputs.get("FirehoseArn", "::::").split(":")[4]
    return {
        "account": account,
        "name": stack.name,
        "topic_arn": stack.outputs.get("TopicArn", ""),
        "role_arn": stack.outputs.get("ConsumerRoleArn", ""),
        "external_id": stack.outputs.get("ExternalId", ""),
        "bucket": stack.outputs.get("BucketName", ""),
    }


def render_integrations(entries: list[dict[str, str]]) -> str:
    header = ("ACCOUNT", "TOPIC (sns_arn)", "ROLE (role_arn)", "EXTERNAL ID")
    lines = [header] + [
        (e["account"], e.get("topic_arn", ""), e.get("role_arn", ""), e.get("external_id", ""))
        if "problem" not in e
        else (e["account"], f"cannot read: {e['problem']}", "", "")
        for e in entries
    ]
    return columns(lines)
