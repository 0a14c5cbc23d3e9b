"""Every IAM role the deploy creates, as CloudFormation will create it: template.yaml translated by
aws-sam-translator (what `sam deploy` sends), spoke.yaml, org.yaml and org-artifacts.yaml, each
resolved with real names under each way of deploying it (one account with its own spokes and a
customer managed key; a member of the organization deploy; one region alone). Shared by the
independent scanner's test and the escalation test."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from eks_audit_local.template import SPOKE_TEMPLATE, TEMPLATE, Context, load_template
from eks_audit_templates.org import translate
from tests.helpers import packaged_sam_template

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/eks-audit/00000000-0000-4000-8000-000000000000"
PREFIX = "eks-audit-00000000"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
COMMON = {"ConsumerPrincipal": "210987654321", "ExternalId": "x" * 8}
# template.yaml's ways of being deployed (parameters), each a name
DEPLOYS = {
    "own-spokes-kms": {**COMMON, "SpokeRegions": "ALL", "KmsKeyArn": KEY, "LogRetentionDays": "30"},
    "organization-member": {
        **COMMON,
        "SpokeRegions": "eu-west-1",
        "SpokesManagedBy": "Organization",
        "NamePrefix": "eks-audit-0a1b2c3d",
        "OrgAdministratorAccount": "111111111111",
        "OrganizationId": "o-abcdefghij",
    },
    "one-region": {**COMMON, "SpokeRegions": ""},
}
OTHER_TEMPLATES = (SPOKE_TEMPLATE, TEMPLATE.parent / "org.yaml", TEMPLATE.parent / "org-artifacts.yaml")


@dataclass(frozen=True)
class DeployedRole:
    deploy: str  # which deploy (DEPLOYS' name, or the template's file name)
    name: str  # logical id
    trust: dict
    statements: list[dict]

    @property
    def policy(self) -> dict:
        """Every inline policy of the role as one document (what it may do, whichever policy grants it)."""
        return {"Version": "2012-10-17", "Statement": self.statements}


@functools.cache
def translated() -> dict:
    return translate(packaged_sam_template(), REGION)


def placeholder(context: Context, template: dict) -> Context:
    """Every resource 'created' under a name of the shape CloudFormation gives it."""
    for name, spec in template["Resources"].items():
        kind = spec["Type"]
        context.refs.setdefault(name, f"eks-audit-{name}-ABC")
        arn = {
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/eks-audit-{name}-ABC",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-audit-{name}-ABC",
            "AWS::S3::Bucket": f"arn:aws:s3:::eks-audit-{ACCOUNT}-00000000-0000-4000-8000-000000000000",
            "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/eks-audit-{name}-ABC",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/eks-audit-{name}:*",
        }.get(kind, f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:{name}")
        context.attributes.setdefault((name, "Arn"), arn)
    if kind_present(template, "AWS::SNS::Topic"):
        context.refs["AuditTopic"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:eks-audit-AuditTopic-ABC"
    for name, value in {
        "Spokes": "eu-west-1,ap-east-1",
        "CloudFormationPrincipals": "cloudformation.amazonaws.com,cloudformation.ap-east-1.amazonaws.com",
        "SnsPrincipals": "sns.amazonaws.com,sns.ap-east-1.amazonaws.com",
        "LogsPrincipals": "logs.eu-west-1.amazonaws.com,logs.ap-east-1.amazonaws.com",
    }.items():
        context.attributes[("EnabledRegions", name)] = value
    return context


def kind_present(template: dict, kind: str) -> bool:
    return any(spec["Type"] == kind for spec in template["Resources"].values())


def roles_of(template: dict, context: Context, deploy: str) -> Iterator[DeployedRole]:
    for name, spec in template["Resources"].items():
        if spec["Type"] != "AWS::IAM::Role" or (
            "Condition" in spec and not context.condition(spec["Condition"])
        ):
            continue
        properties = context.resolve(spec["Properties"])
        assert not properties.get("ManagedPolicyArns"), f"{name}: a managed policy is not scanned here"
        statements = [s for p in properties.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        yield DeployedRole(deploy, name, properties["AssumeRolePolicyDocument"], statements)


@functools.cache
def deployed_roles() -> tuple[DeployedRole, ...]:
    found: list[DeployedRole] = []
    home = translated()
    for deploy, parameters in DEPLOYS.items():
        context = placeholder(Context(home, dict(parameters), stack_id=STACK_ID), home)
        found += roles_of(home, context, deploy)
    for path in OTHER_TEMPLATES:
        template = load_template(path)
        parameters = {"NamePrefix": PREFIX, "HomeRegion": REGION, **COMMON}
        context = placeholder(Context(template, parameters, stack_id=STACK_ID), template)
        found += roles_of(template, context, path.name)
    return tuple(found)


def role(deploy: str, name: str) -> DeployedRole:
    return next(r for r in deployed_roles() if (r.deploy, r.name) == (deploy, name))
