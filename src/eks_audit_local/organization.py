"""An AWS Organization on the local cloud: a management account, member accounts in one OU, and
the service-managed StackSets of org.yaml deploying to them, with automatic deployment.

What AWS does, and the page each behaviour follows:
- CreateAccount gives the new account `OrganizationAccountAccessRole`, trusted by the management
  account (organizations/latest/userguide/orgs_manage_accounts_create.html; moto does this);
- a service-managed StackSet deploys to every account of its target OUs and their child OUs, never
  to the management account (API_DeploymentTargets.html);
- automatic deployment deploys to an account moved into a target OU later, and removes the stack
  instance of an account moved out, deleting its stack unless RetainStacksOnAccountRemoval
  (stacksets-orgs-manage-auto-deployment.html, aws-properties-cloudformation-stackset-
  autodeployment.html); resources whose DeletionPolicy is Retain stay (the audit buckets);
- a stack instance's stack is named `StackSet-<StackSetName>-<uuid>` in the target account.

Our model, not AWS's: automatic deployment runs right after the Organizations call that moves an
account (AWS starts it asynchronously, in minutes). The member stacks are deployed from the same
plain-CloudFormation build of template.yaml that AWS receives (eks_audit_templates.org), with
the code where `sam package` would have put it; the functions themselves run in a process per
member account, not in Lambda.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .deploy import Stack, delete, deploy, register_stack
from .template import SPOKE_TEMPLATE, TEMPLATE

ORG_TEMPLATE = TEMPLATE.with_name("org.yaml")
ARTIFACTS_TEMPLATE = TEMPLATE.with_name("org-artifacts.yaml")
OU_NAME = "eks-audit"
MEMBER_TEMPLATE_URL = ".aws-sam/org/member.yaml"  # org.yaml's, where `make org-package` writes it
# where a StackSet's TemplateURL points -> the template the local cloud deploys for it (the member
# template is built as the README builds it: LocalCloud.deploy_organization)
TEMPLATES = {MEMBER_TEMPLATE_URL: TEMPLATE, SPOKE_TEMPLATE.name: SPOKE_TEMPLATE}
# (StackSetId, account, region) -> what ListStackInstances answers (install() below)
INSTANCE_STATES: dict[tuple[str, str, str], dict[str, Any]] = {}


@dataclass
class Organization:
    id: str
    management: str
    root: str
    ou: str
    members: list[str] = field(default_factory=list)


def create_organization(organizations: Any, members: int) -> Organization:
    """The organization, an OU for eks-audit under the root, and `members` accounts in it."""
    created = organizations.create_organization(FeatureSet="ALL")["Organization"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name=OU_NAME)["OrganizationalUnit"]["Id"]
    org = Organization(created["Id"], created["MasterAccountId"], root, ou)
    for index in range(1, members + 1):
        account = create_account(organizations, f"member-{index}")
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
        org.members.append(account)
    return org


def create_account(organizations: Any, name: str) -> str:
    status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"
    ]
    if status.get("State") != "SUCCEEDED":
        raise RuntimeError(f"CreateAccount {name}: {status.get('State')} {status.get('FailureReason', '')}")
    return status["AccountId"]


def targeted_accounts(organizations: Any, ou_ids: list[str]) -> list[str]:
    """The accounts of the OUs and of their child OUs, at any depth (API_DeploymentTargets)."""
    found: list[str] = []
    pending = list(ou_ids)
    while pending:
        parent = pending.pop()
        for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            found += [
                account["Id"] for account in page["Accounts"] if account.get("Status", "ACTIVE") == "ACTIVE"
            ]
        for page in organizations.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            pending += [unit["Id"] for unit in page["OrganizationalUnits"]]
    return sorted(set(found))


@dataclass
class Instance:
    stack_set: str
    account: str
    region: str
    stack: Stack | None = None
    stack_id: str = ""
    failure: str | None = None
    cancelled: bool = False  # not attempted: the operation's failure tolerance was exceeded


@dataclass
class ServiceManagedStackSets:
    """Plays CloudFormation StackSets with service-managed permissions for org.yaml's StackSets.

    `clients_in(account)` gives clients acting in an account (as the StackSets execution role
    would); `on_deployed(instance)` / `on_removed(instance)` tell the local cloud, which attaches
    or detaches that account's controller."""

    management_clients: Callable[[str, str], Any]
    clients_in: Callable[[str], Callable[[str, str], Any]]
    on_deployed: Callable[[Instance], None] = lambda instance: None
    on_removed: Callable[[Instance], None] = lambda instance: None
    templates: dict[str, Path] = field(default_factory=lambda: dict(TEMPLATES))
    stack_sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> properties
    set_ids: dict[str, str] = field(default_factory=dict)
    home_regions: dict[str, str] = field(default_factory=dict)  # name -> the administering region
    instances: dict[tuple[str, str, str], Instance] = field(default_factory=dict)
    retained: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, stack: Stack, logical_id: str, p: dict[str, Any]) -> None:
        """The creator of a SERVICE_MANAGED `AWS::CloudFormation::StackSet` (deploy.py)."""
        if p.get("TemplateURL") not in self.templates:
            raise ValueError(
                f"{logical_id}: the local cloud deploys only {', '.join(self.templates)} as a StackSet"
            )
        name = p["StackSetName"]
        cloudformation = self.management_clients("cloudformation", stack.context.region)
        # the StackSet as ListStackInstances shows it; its instances' stacks are deployed below
        self.set_ids[name] = cloudformation.create_stack_set(
            StackSetName=name,
            TemplateBody='{"Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}',
            PermissionModel="SERVICE_MANAGED",
            AutoDeployment={key: _true(value) for key, value in p.get("AutoDeployment", {}).items()},
        )["StackSetId"]
        self.stack_sets[name] = p
        self.home_regions[name] = stack.context.region
        stack.context.refs[logical_id] = name
        with self._lock:  # the stack's own operation: its OperationPreferences apply
            self._sync(name, preferences=p.get("OperationPreferences") or {})

    def sync(self, name: str | None = None) -> None:
        """Bring each StackSet's instances to its targets: deploy to the accounts now in its OUs,
        and, with automatic deployment, remove those that left (a plain StackSet keeps them)."""
        with self._lock:
            for set_name in [name] if name else list(self.stack_sets):
                self._sync(set_name)

    def _sync(self, name: str, preferences: dict[str, Any] | None = None) -> None:
        """`preferences`: an operation of the stack (create, update) with its OperationPreferences;
        None: automatic deployment, to which "StackSetOperationPreferences don't apply"."""
        p = self.stack_sets[name]
        organizations = self.management_clients("organizations", "us-east-1")
        cloudformation = self.management_clients("cloudformation", self.home_regions[name])
        for group in p.get("StackInstancesGroup", []):
            ou_ids = list(group["DeploymentTargets"].get("OrganizationalUnitIds", []))
            regions = list(group["Regions"])
            wanted = targeted_accounts(organizations, ou_ids)
            cloudformation.create_stack_instances(
                StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": ou_ids}, Regions=regions
            )
            tolerance = failure_tolerance(preferences, len(wanted))
            stopped = False
            for (
                region
            ) in regions:  # a region stopped stops the ones after it (API_StackSetOperationPreferences)
                failures = 0
                for account in wanted:
                    if (name, account, region) in self.instances:
                        continue
                    if stopped:
                        self._cancel(name, account, region)
                        continue
                    if self._deploy(name, p, account, region) is not None:
                        failures += 1
                        stopped = failures > tolerance
            auto = p.get("AutoDeployment", {})
            if not _true(auto.get("Enabled")):
                continue
            gone = [key for key in self.instances if key[0] == name and key[1] not in wanted]
            for key in gone:
                self._remove(key, retain_stack=_true(auto.get("RetainStacksOnAccountRemoval")))
                cloudformation.delete_stack_instances(
                    StackSetName=name, Accounts=[key[1]], Regions=[key[2]], RetainStacks=False
                )

    def _cancel(self, name: str, account: str, region: str) -> None:
        instance = Instance(name, account, region, cancelled=True)
        self.instances[(name, account, region)] = instance
        INSTANCE_STATES[(self.set_ids[name], account, region)] = instance_state(instance)

    def _deploy(self, name: str, p: dict[str, Any], account: str, region: str) -> str | None:
        """Deploy one instance; its failure (None: deployed)."""
        template = self.templates[p["TemplateURL"]]
        parameters = {item["ParameterKey"]: str(item["ParameterValue"]) for item in p.get("Parameters", [])}
        stack_uuid = str(uuid.uuid4())
        stack_name = f"StackSet-{name}-{stack_uuid}"
        instance = Instance(name, account, region)
        self.instances[(name, account, region)] = instance
        clients = self.clients_in(account)
        try:
            instance.stack = deploy(
                clients,
                parameters,
                region=region,
                account=account,
                template_path=template,
                stack_id=f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{stack_uuid}",
            )
            instance.stack_id = register_stack(
                clients("cloudformation", region),
                stack_name,
                instance.stack.outputs(),
                instance.stack.context.parameters,
            )
        except Exception as exc:  # the instance fails, as AWS shows it; the other accounts go on
            instance.failure = f"{type(exc).__name__}: {exc}"
        INSTANCE_STATES[(self.set_ids[name], account, region)] = instance_state(instance)
        if instance.failure is None:
            self.on_deployed(instance)
        return instance.failure

    def _remove(self, key: tuple[str, str, str], retain_stack: bool) -> None:
        instance = self.instances.pop(key)
        INSTANCE_STATES.pop((self.set_ids[key[0]], key[1], key[2]), None)
        self.on_removed(instance)
        if instance.stack is not None and not retain_stack:
            self.retained[key] = delete(instance.stack)
            if instance.stack_id:
                self.clients_in(key[1])("cloudformation", key[2]).delete_stack(StackName=instance.stack_id)


def failure_tolerance(preferences: dict[str, Any] | None, accounts: int) -> float:
    """How many accounts of a region may fail before the operation stops there: FailureToleranceCount,
    or FailureTolerancePercentage of the accounts rounded down (API_StackSetOperationPreferences),
    0 by default; no limit for automatic deployments (`preferences` None)."""
    if preferences is None:
        return float("inf")
    if "FailureToleranceCount" in preferences:
        return int(preferences["FailureToleranceCount"])
    return int(int(preferences.get("FailureTolerancePercentage", 0)) * accounts / 100)


def _true(value: Any) -> bool:
    """A template's boolean, which a parameter gives as the string "true" or "false"."""
    return str(value).lower() == "true"


def instance_state(instance: Instance) -> dict[str, Any]:
    """A stack instance as ListStackInstances shows it (API_StackInstanceSummary): CURRENT and
    SUCCEEDED once deployed; a failed deployment is OUTDATED and FAILED, with the reason."""
    if instance.cancelled:  # as StackSets reports the instances it did not attempt
        return {
            "StackId": "",
            "Status": "OUTDATED",
            "DetailedStatus": "CANCELLED",
            "StatusReason": "Cancelled since failure tolerance has exceeded",
        }
    if instance.failure is None:
        return {"StackId": instance.stack_id, "Status": "CURRENT", "DetailedStatus": "SUCCEEDED"}
    return {"StackId": "", "Status": "OUTDATED", "DetailedStatus": "FAILED", "StatusReason": instance.failure}


def install() -> None:
    """moto's ListStackInstances answers CURRENT/SUCCEEDED with a new random StackId each time:
    answer what the local deployment did instead (INSTANCE_STATES)."""
    from moto.cloudformation import models

    if getattr(models.StackInstance, "_eks_audit_overlay", False):
        return
    original = models.StackInstance.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        answer = original(self)
        state = INSTANCE_STATES.get((self.stackset_id, self.account_id, self.region_name))
        if state is not None:
            answer["StackId"] = state["StackId"] or answer["StackId"]
            answer["Status"] = state["Status"]
            answer["StackInstanceStatus"] = {"DetailedStatus": state["DetailedStatus"]}
            if "StatusReason" in state:
                answer["StatusReason"] = state["StatusReason"]
        return answer

    models.StackInstance.to_dict = to_dict
    models.StackInstance._eks_audit_overlay = True
