"""The organization deploy seen from its administering account (management or delegated admin):
`eks-audit status --org` and `eks-audit consumer integrations --org`.

Which accounts are covered is decided from what AWS answers, by pure functions (`judge_accounts`,
`org_ok`): Organizations' ListAccounts, and the member StackSet's ListStackInstances. A covered
account is then read through the read-only role its stack created (`<NamePrefix>-org-read`),
with that account's own quotas (each account gets its own `Aws`, so its own limiters), several
accounts at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import account_pool
from .coverage import Row
from .errors import is_fatal, scp_refusal
from .session import Aws
from .stack import DeployedStack, StackNotFound, find_deployments, find_stack

DEFAULT_ORG_STACK_NAME = "eks-audit-org"

MANAGEMENT_REASON = (
    "the management account: StackSets never deploy to it; cover it with its own `sam deploy` of "
    "template.yaml (README, An AWS Organization)"
)


# Organizations' account states other than ACTIVE (ListAccounts' State, or the older Status), as
# `status --org` lists them: never as failures
INACTIVE_STATES = {
    "SUSPENDED": "suspended",
    "PENDING_CLOSURE": "closed",
    "CLOSED": "closed",
    "PENDING_ACTIVATION": "pending activation",
}
INACTIVE = frozenset(INACTIVE_STATES.values())


@dataclass(frozen=True)
class OrgAccount:
    id: str
    name: str
    status: str = "ACTIVE"


@dataclass(frozen=True)
class InstanceSummary:
    """A stack instance of the member StackSet, as ListStackInstances gives it."""

    account: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed: str  # SUCCEEDED | FAILED | RUNNING | PENDING | CANCELLED | SKIPPED_SUSPENDED_ACCOUNT ...
    reason: str = ""
    stack_id: str = ""


@dataclass(frozen=True)
class Tally:
    """What is kept of an account's clusters once they are written out (status --org --json):
    what the summary line and the exit code still need, so memory does not grow with clusters."""

    clusters: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    received: int = 0
    forwarded: int = 0
    delivery_read: bool = False
    attention: bool = False  # a cluster needs attention
    regions: frozenset[str] = frozenset()


def tally_of(rows: list[Row], attention: Callable[[Row], bool]) -> Tally:
    return Tally(
        clusters=len(rows),
        verdicts=dict(Counter(row.verdict for row in rows)),
        received=sum((row.delivery or {}).get("received", 0) for row in rows),
        forwarded=sum((row.delivery or {}).get("forwarded", 0) for row in rows),
        delivery_read=any(row.delivery for row in rows),
        attention=any(attention(row) for row in rows),
        regions=frozenset(row.region for row in rows),
    )


@dataclass
class AccountCoverage:
    account: str
    name: str
    stack: str  # current | failed | outdated | not targeted | management | suspended | closed
    reason: str = ""
    stack_id: str = ""
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # regions whose spoke a service control policy refuses this account: named, not failures
    denied_by_policy: list[str] = field(default_factory=list)
    denied_reasons: dict[str, str] = field(default_factory=dict)  # region -> StackSets' StatusReason
    has_own_stack: bool = False  # the management account, deployed with its own sam deploy
    tally: Tally | None = None  # once its rows are written out and let go

    @property
    def deployed(self) -> bool:
        return self.stack == "current"

    def tallied(self, attention: Callable[[Row], bool] = lambda row: False) -> Tally:
        return self.tally or tally_of(self.rows, attention)

    def condense(self, attention: Callable[[Row], bool]) -> None:
        """Keep the tally, let the rows go (they have been written)."""
        self.tally, self.rows = tally_of(self.rows, attention), []

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "name": self.name,
            "stack": self.stack,
            "reason": self.reason,
            "stack_id": self.stack_id,
            "problems": self.problems,
            "denied_by_policy": self.denied_by_policy,
            "denied_reasons": self.denied_reasons,
            "summary": self.tallied().verdicts,
            "clusters": [row.to_dict() for row in self.rows],
        }


def judge_accounts(
    accounts: Iterable[OrgAccount], management: str, instances: Iterable[InstanceSummary], home_region: str
) -> list[AccountCoverage]:
    """Each account of the organization, and whether the member StackSet covers it (pure)."""
    by_account = {i.account: i for i in instances if i.region == home_region}
    judged = []
    for account in sorted(accounts, key=lambda a: (a.id != management, a.name, a.id)):
        if account.status != "ACTIVE":
            state = INACTIVE_STATES.get(account.status, "suspended")
            judged.append(AccountCoverage(account.id, account.name, state, f"account {account.status}"))
            continue
        if account.id == management:
            judged.append(AccountCoverage(account.id, account.name, "management", MANAGEMENT_REASON))
            continue
        instance = by_account.get(account.id)
        if instance is None:
            judged.append(
                AccountCoverage(
                    account.id,
                    account.name,
                    "not targeted",
                    "not in the OUs of the member StackSet: move it into one, or add its OU to OrganizationalUnitIds",
                )
            )
        elif instance.detailed == "SKIPPED_SUSPENDED_ACCOUNT":  # StackSets skipped it: not a failure
            judged.append(
                AccountCoverage(
                    account.id, account.name, "suspended", "StackSets skipped it: account suspended"
                )
            )
        elif failed(instance):
            reason = f"stack instance {instance.status}/{instance.detailed}"
            judged.append(
                AccountCoverage(
                    account.id,
                    account.name,
                    "failed",
                    f"{reason}: {instance.reason}" if instance.reason else reason,
                    instance.stack_id,
                )
            )
        elif instance.status != "CURRENT":
            judged.append(
                AccountCoverage(
                    account.id,
                    account.name,
                    "outdated",
                    f"stack instance {instance.status}/{instance.detailed}: an operation is pending or in progress",
                    instance.stack_id,
                )
            )
        else:
            judged.append(AccountCoverage(account.id, account.name, "current", stack_id=instance.stack_id))
    return judged


def failed(instance: InstanceSummary) -> bool:
    """Failed, inoperable, or never attempted because the operation's failure tolerance was
    exceeded (CANCELLED, API_StackInstanceComprehensiveStatus)."""
    return instance.detailed in ("FAILED", "CANCELLED") or instance.status == "INOPERABLE"


def judge_spokes(
    coverages: list[AccountCoverage], instances: Iterable[InstanceSummary], stack_set: str
) -> None:
    """Each failed instance of the spokes' StackSet, named on its account with StackSets' own
    StatusReason and what to do (pure: adds to the coverages). A region a service control policy
    denies the account is listed as denied by policy: the organization chose it, it is no failure."""
    by_account = {coverage.account: coverage for coverage in coverages}
    for instance in sorted(instances, key=lambda i: (i.account, i.region)):
        coverage = by_account.get(instance.account)
        if coverage is None or coverage.stack in INACTIVE or not failed(instance):
            continue
        reason = instance.reason or "StackSets gave no reason"
        if scp_refusal(reason):  # named with AWS's reason: a region deny, or another guardrail
            coverage.denied_by_policy.append(instance.region)
            coverage.denied_reasons[instance.region] = reason
            continue
        coverage.problems.append(
            f"{instance.region}: spoke stack instance {instance.status}/{instance.detailed}: {reason}; "
            f"once the cause is fixed, StackSets retries it on the next operation of {stack_set} "
            f"(or: aws cloudformation update-stack-instances --stack-set-name {stack_set} "
            f"--deployment-targets Accounts={instance.account} --regions {instance.region})"
        )


def not_covered(coverage: AccountCoverage) -> bool:
    """Whether an account counts against the organization: anything but a current stack, except
    a management account that has nothing to ship (its own stack, or no cluster to be seen)."""
    if coverage.deployed or coverage.has_own_stack:
        return False
    if coverage.stack == "management":
        return bool(coverage.rows)  # its clusters, listed with the caller's own credentials
    return coverage.stack not in INACTIVE


def org_ok(coverages: list[AccountCoverage], attention: Callable[[Row], bool]) -> bool:
    """Exit 0 only when every account in scope is covered and all its clusters are fine."""
    return all(
        not not_covered(c) and not c.problems and not c.tallied(attention).attention for c in coverages
    )


# -- AWS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgStack:
    name: str
    region: str
    outputs: dict[str, str]

    @property
    def member_stack_set(self) -> str:
        return self.outputs["MemberStackSetName"]

    @property
    def spoke_stack_set(self) -> str | None:
        return self.outputs.get("SpokeStackSetName") or None

    @property
    def name_prefix(self) -> str:
        return self.outputs["NamePrefix"]

    @property
    def call_as(self) -> str:
        return self.outputs.get("CallAs", "SELF")


def find_org_stack(aws: Aws, stack_name: str, region: str) -> OrgStack:
    found = find_stack(aws.client("cloudformation", region), stack_name, region)
    if "MemberStackSetName" not in found.outputs:
        raise StackNotFound(stack_name, region)
    return OrgStack(stack_name, region, found.outputs)


def list_accounts(organizations: Any) -> list[OrgAccount]:
    accounts = []
    for page in organizations.get_paginator("list_accounts").paginate():
        accounts += [
            # State is the newer field (it alone says CLOSED); Status the older one
            OrgAccount(a["Id"], a.get("Name", ""), a.get("State") or a.get("Status", "ACTIVE"))
            for a in page["Accounts"]
        ]
    return accounts


def list_instances(cloudformation: Any, stack_set: str, call_as: str) -> list[InstanceSummary]:
    instances = []
    kwargs = {"StackSetName": stack_set, "CallAs": call_as}
    for page in cloudformation.get_paginator("list_stack_instances").paginate(**kwargs):
        instances += [
            InstanceSummary(
                s["Account"],
                s["Region"],
                s.get("Status", ""),
                s.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
                s.get("StatusReason", ""),
                s.get("StackId", ""),
            )
            for s in page["Summaries"]
        ]
    return instances


def org_coverage(aws: Aws, org_stack_name: str, region: str) -> tuple[OrgStack, list[AccountCoverage]]:
    """The organization stack, and each account judged from Organizations and the StackSet."""
    org_stack = find_org_stack(aws, org_stack_name, region)
    organizations = aws.client("organizations", region)
    management = organizations.describe_organization()["Organization"]["MasterAccountId"]
    cloudformation = aws.client("cloudformation", region)
    instances = list_instances(cloudformation, org_stack.member_stack_set, org_stack.call_as)
    coverages = judge_accounts(list_accounts(organizations), management, instances, region)
    if org_stack.spoke_stack_set:
        spokes = list_instances(cloudformation, org_stack.spoke_stack_set, org_stack.call_as)
        judge_spokes(coverages, spokes, org_stack.spoke_stack_set)
    return org_stack, coverages


def no_org_stack(command: str, org_stack_name: str, region: str) -> str:
    return (
        f"eks-audit {command}: no organization stack {org_stack_name!r} in {region} (org.yaml's, deployed "
        "from the management or delegated-admin account): give --org-stack-name or --home-region"
    )


def read_role_arn(org_stack: OrgStack, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{org_stack.name_prefix}-org-read"


def member_stack(member: Aws, coverage: AccountCoverage, region: str) -> DeployedStack:
    """The account's home stack, by the ID its stack instance names."""
    return find_stack(member.client("cloudformation", region), coverage.stack_id, region)


def read_member(
    aws: Aws, org_stack: OrgStack, coverage: AccountCoverage, look: Callable[[Aws, Any], list]
) -> None:
    """Through the account's read-only role: `look(member_aws, deployments)` gives its rows."""
    try:
        member = aws.assumed(read_role_arn(org_stack, coverage.account), "eks-audit-status-org")
        deployments = find_deployments(
            lambda region: member.client("cloudformation", region), coverage.stack_id, [org_stack.region]
        )
        if not deployments.homes:
            coverage.problems.append(f"its stack {coverage.stack_id} is not found")
            return
        for result in look(member, deployments):
            coverage.rows += result.rows
            if result.problem:
                coverage.problems.append(f"{result.region}: {result.problem}")
    except (ClientError, BotoCoreError) as exc:
        if is_fatal(exc) and not isinstance(exc, ClientError):
            raise
        coverage.problems.append(
            f"cannot read it through {read_role_arn(org_stack, coverage.account)}: {exc}"
        )


def read_members(
    aws: Aws,
    org_stack: OrgStack,
    coverages: list[AccountCoverage],
    look: Callable[[Aws, Any], list],
    on_window: Callable[[int, int], None] = lambda done, concurrency: None,
    on_read: Callable[[AccountCoverage], None] = lambda coverage: None,
) -> account_pool.Reading:
    """Every deployed account, as many at once as account_pool finds worth it; `on_read` as each
    is read (from its thread), `on_window(read, at_once)` after each batch (progress)."""

    def read(coverage: AccountCoverage) -> None:
        read_member(aws, org_stack, coverage, look)
        on_read(coverage)

    deployed = [c for c in coverages if c.deployed]
    return account_pool.read_all(read, deployed, on_window)


def integrations(aws: Aws, org_stack: OrgStack, coverages: list[AccountCoverage]) -> list[dict[str, str]]:
    """What each covered account's consumer integration needs (Lacework: one per account)."""

    def one(coverage: AccountCoverage) -> dict[str, str]:
        entry = {"account": coverage.account, "name": coverage.name}
        try:
            member = aws.assumed(read_role_arn(org_stack, coverage.account), "eks-audit-integrations")
            outputs = member_stack(member, coverage, org_stack.region).outputs
        except (ClientError, BotoCoreError, StackNotFound) as exc:
            return {**entry, "problem": str(exc)}
        return {
            **entry,
            "topic_arn": outputs.get("TopicArn", ""),
            "role_arn": outputs.get("ConsumerRoleArn", ""),
            "external_id": outputs.get("ExternalId", ""),
            "bucket": outputs.get("BucketName", ""),
        }

    deployed = [c for c in coverages if c.deployed]
    found: dict[str, dict[str, str]] = {}
    account_pool.read_all(lambda c: found.__setitem__(c.account, one(c)), deployed)
    return [found[c.account] for c in deployed]
