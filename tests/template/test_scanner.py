"""An independent IAM scanner on every role the deploy creates: cloudsplaining (Salesforce's, not
ours), as `scan-policy-file -aR` runs it: every risky action is flagged whatever its resource ARN or
condition. Any privilege-escalation or resource-exposure finding fails, unless
iam_scan_exceptions.yaml lists it with the AWS reason it stands; an exception nothing needs fails too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cloudsplaining.command.scan_policy_file import scan_policy
from cloudsplaining.shared.constants import DEFAULT_EXCLUSIONS_CONFIG

from tests.template.deployed_roles import DEPLOYS, deployed_roles, role

EXCEPTIONS_FILE = Path(__file__).with_name("iam_scan_exceptions.yaml")
KINDS = {"privilege-escalation": "PrivilegeEscalation", "resource-exposure": "ResourceExposure"}


def scan(policy: dict) -> set[tuple[str, str]]:
    """(kind, method or action) of every high-risk finding, with the options `-aR` sets
    (cloudsplaining/command/scan_policy_file.py: flag conditional and resource-ARN statements)."""
    results = scan_policy(
        policy,
        DEFAULT_EXCLUSIONS_CONFIG,
        flag_conditional_statements=True,
        flag_resource_arn_statements=True,
    )
    found = {
        ("privilege-escalation", finding["type"])
        for finding in (results.get("PrivilegeEscalation") or {}).get("findings", [])
    }
    found |= {
        ("resource-exposure", action)
        for action in (results.get("ResourceExposure") or {}).get("findings", [])
    }
    return found


def excepted() -> dict[str, set[tuple[str, str]]]:
    """role -> the findings iam_scan_exceptions.yaml lets stand; each entry must give its reason."""
    allowed: dict[str, set[tuple[str, str]]] = {}
    for entry in yaml.safe_load(EXCEPTIONS_FILE.read_text()):
        assert len(entry.get("reason", "").split()) >= 20, (
            f"{entry['role']}: an exception needs its AWS reason"
        )
        for kind in KINDS:
            allowed.setdefault(entry["role"], set()).update((kind, item) for item in entry.get(kind, []))
    return allowed


def test_the_scan_covers_every_role_of_every_template_and_deploy():
    scanned = {(r.deploy, r.name) for r in deployed_roles()}
    assert {deploy for deploy, _ in scanned} >= set(DEPLOYS)
    # the one-account deploy with its own spokes creates every role but the organization's read role
    assert {name for deploy, name in scanned if deploy == "own-spokes-kms"} >= {
        "StackSetExecutionRole",
        "StackSetAdministrationRole",
        "StackSetProbeFunctionRole",
        "SpokeFirehoseRole",
        "SpokeLogsRole",
        "ForwarderFunctionRole",
        "ConsumerRole",
    }
    assert ("organization-member", "OrgReadRole") in scanned
    # spoke.yaml, org.yaml and org-artifacts.yaml create no role
    assert not [r for r in deployed_roles() if r.deploy.endswith(".yaml")]


@pytest.mark.parametrize("deployed", deployed_roles(), ids=lambda r: f"{r.deploy}/{r.name}")
def test_no_role_has_an_unexcepted_escalation_or_exposure(deployed):
    unexpected = scan(deployed.policy) - excepted().get(deployed.name, set())
    assert sorted(unexpected) == []


def test_every_exception_is_still_needed():
    found: dict[str, set[tuple[str, str]]] = {}
    for deployed in deployed_roles():
        found.setdefault(deployed.name, set()).update(scan(deployed.policy))
    stale = {name: sorted(items - found.get(name, set())) for name, items in excepted().items()}
    assert {name: items for name, items in stale.items() if items} == {}


def test_the_cli_with_its_most_thorough_option_agrees(tmp_path):
    """The command a reviewer runs finds what the in-process scan finds (one role, the riskiest)."""
    execution = role("own-spokes-kms", "StackSetExecutionRole")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(execution.policy))
    printed = subprocess.run(
        [str(Path(sys.executable).with_name("cloudsplaining")), "scan-policy-file", "-i", str(policy), "-aR"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    methods = {item for kind, item in scan(execution.policy) if kind == "privilege-escalation"}
    assert methods and all(f"Method: {method}" in printed for method in methods)


def test_the_scanner_flags_what_the_roles_could_do_before():
    """Negative control: the execution role's IAM writes and the probe's CreateStackSet with a
    passable administration role, as they stood before, are findings the scan reports."""
    before_execution = {
        "Effect": "Allow",
        "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"],
        "Resource": "arn:aws:iam::123456789012:role/eks-audit-00000000-*",
    }
    before_probe = [
        {"Effect": "Allow", "Action": "cloudformation:CreateStackSet", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "cloudformation:CreateStackInstances",
            "Resource": "arn:aws:cloudformation:us-east-1:123456789012:stackset/eks-audit-iam-probe:*",
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::123456789012:role/admin",
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        },
    ]
    execution = scan({"Version": "2012-10-17", "Statement": [before_execution]})
    assert {
        ("privilege-escalation", "PutRolePolicy"),
        ("privilege-escalation", "AttachRolePolicy"),
    } <= execution
    probe = scan({"Version": "2012-10-17", "Statement": before_probe})
    assert ("privilege-escalation", "PassExistingRoleToNewCloudFormationStackSet") in probe
