"""eks-audit doctor's judgements: the key policy against who needs the key, the principal IAM's
simulator is asked about, a denied or failed check as one WARN line, and the deploy actions it asks
the simulator about are those the CloudFormation registry lists for template.yaml's resource types."""

from types import SimpleNamespace

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from click.testing import CliRunner

from eks_audit_cli import doctor
from eks_audit_cli.main import cli
from eks_audit_cli.session import Aws
from eks_audit_cli.stack import DeployedStack
from eks_audit_local.handler_permissions import handler_permissions
from eks_audit_local.template import load_template
from tests.template.test_kms import readme_key_policy

ACCOUNT = "123456789012"


def test_the_readmes_key_policy_admits_everyone_that_needs_the_key():
    assert doctor.key_policy_refusals(readme_key_policy(), ACCOUNT) == []


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        ("S3NotifiesTheEncryptedTopic", "s3.amazonaws.com use kms:GenerateDataKey, kms:Decrypt"),
        (
            "EnableIamPolicies",
            f"arn:aws:iam::{ACCOUNT}:root use kms:GenerateDataKey, kms:Decrypt, kms:CreateGrant",
        ),
    ],
)
def test_a_key_policy_without_a_statement_names_the_principal_and_the_actions(left_out, named):
    statements = [s for s in readme_key_policy() if s["Sid"] != left_out]
    (refusal,) = doctor.key_policy_refusals(statements, ACCOUNT)
    assert f"the key policy does not let {named}" in refusal and f"(statement {left_out})" in refusal


def test_a_conditioned_grant_is_not_taken_for_granted():
    statements = [dict(s) for s in readme_key_policy()]
    statements[1]["Condition"] = {"StringEquals": {"aws:SourceAccount": "999999999999"}}
    assert len(doctor.key_policy_refusals(statements, ACCOUNT)) == 1


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jane", f"arn:aws:iam::{ACCOUNT}:role/Admin"),
        (f"arn:aws:iam::{ACCOUNT}:user/jane", f"arn:aws:iam::{ACCOUNT}:user/jane"),
        (f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/Ops/x", f"arn:aws-us-gov:iam::{ACCOUNT}:role/Ops"),
        (f"arn:aws:iam::{ACCOUNT}:root", None),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", None),
    ],
)
def test_the_simulated_principal_is_the_iam_entity_behind_the_caller(caller, principal):
    assert doctor.simulated_principal(caller) == principal


class Refusing:
    """A client whose every call AWS refuses with `code`."""

    def __init__(self, code: str):
        self.code = code

    def __getattr__(self, operation):
        def call(**_):
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, operation)

        return call


def test_a_denied_check_is_one_warn_naming_the_action():
    def check():
        return Refusing("AccessDenied").get_key_policy(KeyId="k")

    (line,) = doctor.guarded("KMS key", check)
    assert (line.level, line.detail) == ("WARN", "not checked: get_key_policy denied")


def test_a_failed_check_is_one_warn_with_awss_words():
    def check():
        return Refusing("ThrottlingException").describe_trails()

    (line,) = doctor.guarded("trail us-east-1", check)
    assert (line.level, line.detail) == ("WARN", "not checked: describe_trails: ThrottlingException: no")


class Simulator:
    def __init__(self, denied):
        self.denied, self.asked = denied, []

    def get_caller_identity(self):
        return {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s", "Account": ACCOUNT}

    def simulate_principal_policy(self, PolicySourceArn, ActionNames):
        self.asked.append(PolicySourceArn)
        return {
            "EvaluationResults": [
                {"EvalActionName": a, "EvalDecision": "implicitDeny" if a in self.denied else "allowed"}
                for a in ActionNames
            ]
        }


class AwsStub:
    def __init__(self, simulator):
        self.simulator = simulator

    def client(self, service, region):
        return self.simulator


def test_the_simulators_denials_fail_the_check_naming_the_actions():
    simulator = Simulator({"iam:CreateRole", "cloudformation:CreateStackSet"})
    (line,) = doctor.check_permissions(AwsStub(simulator), "us-east-1", spokes=True, key=False)
    assert line.level == "FAIL"
    assert line.detail.startswith(
        f"arn:aws:iam::{ACCOUNT}:role/Deployer may not: cloudformation:CreateStackSet, iam:CreateRole"
    )
    assert simulator.asked == [f"arn:aws:iam::{ACCOUNT}:role/Deployer"]
    (line,) = doctor.check_permissions(AwsStub(Simulator(set())), "us-east-1", spokes=False, key=True)
    assert line.level == "OK"


def test_the_deploy_actions_asked_about_are_the_registrys_create_handler_permissions():
    template = load_template()
    kinds = {
        spec["Type"]
        .replace("AWS::Serverless::Function", "AWS::Lambda::Function")
        .replace("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
        for spec in template["Resources"].values()
        if not spec["Type"].startswith("Custom::")
    }
    listed = {action for kind in kinds for action in handler_permissions(kind)["create"]}
    listed |= {"lambda:CreateEventSourceMapping"}  # SAM's SQS event: an AWS::Lambda::EventSourceMapping
    asked = {*doctor.DEPLOY_ACTIONS, *doctor.SPOKE_ACTIONS, *doctor.KEY_ACTIONS} - {
        "cloudformation:CreateChangeSet",  # sam deploy's own calls, before any handler
        "cloudformation:ExecuteChangeSet",
    }
    assert sorted(asked - listed) == []


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ("rate(6 hours)", 21600),
        ("rate(1 day)", 86400),
        ("rate(30 minutes)", 1800),
        ("cron(0 * * * ? *)", 86400),
    ],
)
def test_the_sweep_interval(schedule, seconds):
    assert doctor.schedule_seconds(schedule) == seconds


# -- a denied check is a WARN naming the action, never a traceback -------------------------------------

HOME = "us-east-1"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s"
NO_OPTIONS = {"SpokeRegions": None, "KmsKeyArn": None, "FilterName": None}


def answering_aws(monkeypatch, code: str, message: str = "") -> Aws:
    """The CLI's own Aws, each of its calls but sts:GetCallerIdentity answered `code` before it is
    sent (botocore's before-call event, as its Stubber does), in IAM's words: "User: <arn> is not
    authorized to perform: <action> because ..." (reference_policies_access-denied-messages)."""
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": HOME,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def answer(model, **_):
        if model.name == "GetCallerIdentity":
            return AWSResponse(None, 200, {}, None), {"Account": ACCOUNT, "Arn": CALLER, "UserId": "AROA:s"}
        action = f"{model.service_model.signing_name}:{model.name}"
        said = message or f"because no identity-based policy allows the {action} action"
        refusal = {"Code": code, "Message": f"User: {CALLER} is not authorized to perform: {action} {said}"}
        return AWSResponse(None, 403, {}, None), {
            "Error": refusal,
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    aws = Aws(None, None, ())
    aws.session.events.register("before-call", answer)
    return aws


def test_an_account_that_denies_every_read_gets_a_warn_per_check_naming_the_action(monkeypatch):
    checks = {
        c.name: c
        for c in doctor.run(answering_aws(monkeypatch, "AccessDenied"), None, HOME, NO_OPTIONS, {}, 3600)
    }
    assert {c.level for c in checks.values()} == {"OK", "WARN"}  # the KMS key: none given, nothing read
    assert checks["stack"].detail == (
        "not checked: cloudformation:DescribeStacks denied: checking what a deploy needs"
    )
    assert checks["regions"].detail == "not checked: ec2:DescribeRegions denied; checking us-east-1 alone"
    assert checks[f"trail {HOME}"].detail == "not checked: cloudtrail:DescribeTrails denied"
    assert checks[f"filter room {HOME}"].detail == "not checked: eks:ListClusters denied"
    assert checks["deploy permissions"].detail == "not checked: iam:SimulatePrincipalPolicy denied"
    assert checks[f"telemetry rule {HOME}"].detail.endswith("observabilityadmin:ListTelemetryRules denied")
    assert checks[f"Security Lake source {HOME}"].detail.endswith("securitylake:ListLogSources denied")
    assert "ListTelemetryRulesForOrganization denied" in checks["organization telemetry rule"].detail
    assert all(
        c.fix == "grant it to run this check" for c in checks.values() if c.detail.startswith("not checked")
    )


def test_a_denial_by_a_service_control_policy_is_said_as_such(monkeypatch):
    aws = answering_aws(monkeypatch, "AccessDenied", "with an explicit deny in a service control policy")
    (line,) = doctor.guarded(f"trail {HOME}", lambda: doctor.check_trails(aws, HOME))
    assert line.detail == "not checked: cloudtrail:DescribeTrails denied by a service control policy"
    assert line.fix == "the organization's administrators decide it"


def test_denied_regions_still_check_the_regions_spoke_regions_lists(monkeypatch):
    aws = answering_aws(monkeypatch, "UnauthorizedOperation")
    (line,), regions = doctor.check_regions(aws, HOME, "eu-west-1, ap-southeast-2")
    assert regions == [HOME, "eu-west-1", "ap-southeast-2"]
    assert (line.level, line.detail) == (
        "WARN",
        "not checked: ec2:DescribeRegions denied; checking us-east-1, eu-west-1, ap-southeast-2 as "
        "SpokeRegions lists them, enabled or not",
    )


def test_credentials_refused_still_end_the_command(monkeypatch):
    with pytest.raises(ClientError, match="ExpiredToken"):
        doctor.run(answering_aws(monkeypatch, "ExpiredToken"), None, HOME, NO_OPTIONS, {}, 3600)


def test_no_network_while_reading_the_trails_still_ends_the_command():
    class Unreachable:
        def describe_trails(self, **_):
            raise EndpointConnectionError(endpoint_url="https://cloudtrail.us-east-1.amazonaws.com")

    with pytest.raises(EndpointConnectionError):
        doctor.guarded(f"trail {HOME}", lambda: doctor.check_trails(AwsStub(Unreachable()), HOME))


def test_a_member_account_is_told_once_that_it_cannot_list_the_organizations_rules():
    asked = []

    class Member:
        def list_telemetry_rules_for_organization(self, **_):
            asked.append(1)
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException"}}, "ListTelemetryRulesForOrganization"
            )

    (line,) = doctor.check_organization_rules(AwsStub(Member()), [HOME, "eu-west-1"])
    assert (line.name, line.level, len(asked)) == ("organization telemetry rule", "WARN", 1)
    assert "ListTelemetryRulesForOrganization denied" in line.detail


# -- the policy simulator and service control policies -------------------------------------------------


class Clients:
    def __init__(self, **clients):
        self.clients = clients

    def client(self, service, region):
        return self.clients[service]


def iam_answering(results: list[dict], actions: list[str]):
    iam = botocore.session.get_session().create_client(
        "iam", region_name=HOME, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(iam)
    stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": results},
        {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/Deployer", "ActionNames": actions},
    )
    stub.activate()
    return iam


def test_an_action_a_service_control_policy_denies_is_named_as_such():
    actions = list(doctor.DEPLOY_ACTIONS)
    denied_by = {"iam:CreateRole": "identity", "lambda:CreateFunction": "scp", "sqs:CreateQueue": "scp"}
    results = [
        {
            "EvalActionName": action,
            "EvalDecision": "implicitDeny" if action in denied_by else "allowed",
            "OrganizationsDecisionDetail": {"AllowedByOrganizations": denied_by.get(action) != "scp"},
        }
        for action in actions
    ]
    aws = Clients(sts=Simulator(set()), iam=iam_answering(results, actions))
    (line,) = doctor.check_permissions(aws, HOME, spokes=False, key=False)
    assert line.level == "FAIL"
    assert line.detail.startswith(
        f"arn:aws:iam::{ACCOUNT}:role/Deployer may not: iam:CreateRole; denied by a service control policy: "
        "lambda:CreateFunction, sqs:CreateQueue (IAM's simulator weighs identity policies, the permissions "
        "boundary and the organization's SCPs;"
    )
    assert "the organization's administrators" in line.fix and "grant them" in line.fix


def test_where_the_simulator_says_nothing_of_scps_doctor_says_it_did_not_see_them():
    actions = list(doctor.DEPLOY_ACTIONS)
    results = [{"EvalActionName": action, "EvalDecision": "allowed"} for action in actions]
    aws = Clients(sts=Simulator(set()), iam=iam_answering(results, actions))
    (line,) = doctor.check_permissions(aws, HOME, spokes=False, key=False)
    assert line.level == "OK" and "said nothing of service control policies" in line.detail


# -- the deploy's parameters ---------------------------------------------------------------------------


def test_the_parameters_taken_are_template_yamls_with_its_defaults():
    parameters = load_template()["Parameters"]
    assert list(doctor.TEMPLATE_PARAMETERS) == list(parameters)
    assert {name: parameters[name]["Default"] for name in doctor.CHECKED_DEFAULTS} == doctor.CHECKED_DEFAULTS


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (
            ['SpokeRegions=eu-west-1,ap-southeast-2 IncludeClusters="prod-.* staging" ExcludeClusters='],
            {
                "SpokeRegions": "eu-west-1,ap-southeast-2",
                "IncludeClusters": "prod-.* staging",
                "ExcludeClusters": "",
            },
        ),
        (
            ["ExcludeClusters='tmp-(a|b)'", "FilterName=x=y"],
            {"ExcludeClusters": "tmp-(a|b)", "FilterName": "x=y"},
        ),
        (
            [
                "ParameterKey=SpokeRegions,ParameterValue=eu-west-1,eu-central-1 ParameterKey=KmsKeyArn,ParameterValue="
            ],
            {"SpokeRegions": "eu-west-1,eu-central-1", "KmsKeyArn": ""},
        ),
    ],
    ids=["short", "quoted-and-repeated", "long-form"],
)
def test_parameter_overrides_are_read_as_sam_deploy_reads_them(given, parsed):
    assert doctor.parse_overrides(given) == parsed


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["SpokeRegions=ALL Bogus=1"], "--parameter-overrides names Bogus: not a parameter of template.yaml"),
        (["SpokeRegions"], "--parameter-overrides 'SpokeRegions': expected Key=Value"),
        (["IncludeClusters='prod"], '--parameter-overrides "IncludeClusters=\'prod": No closing quotation'),
    ],
)
def test_parameter_overrides_sam_would_refuse_are_said_in_one_line(given, said):
    with pytest.raises(doctor.BadParameters) as refused:
        doctor.parse_overrides(given)
    assert str(refused.value) == said


def test_an_unknown_parameter_ends_the_command_in_one_line_naming_it():
    result = CliRunner().invoke(
        cli, ["doctor", "--region", HOME, "--parameter-overrides", "FilterName=a Nope=b"]
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "eks-audit doctor: --parameter-overrides names Nope: not a parameter of template.yaml\n"
    )


def test_an_option_wins_over_an_override_which_wins_over_the_stack():
    stack = DeployedStack(
        "eks-audit",
        HOME,
        outputs={"FilterName": "deployed"},
        parameters={"SpokeRegions": "eu-west-1", "IncludeClusters": "prod-.*", "KmsKeyArn": "arn:deployed"},
    )
    options = {"SpokeRegions": None, "KmsKeyArn": "arn:option", "FilterName": None}
    overrides = {"KmsKeyArn": "arn:override", "IncludeClusters": "dev-.*", "FilterName": "overridden"}
    assert doctor.checked_parameters(options, overrides, stack) == {
        "SpokeRegions": "eu-west-1",
        "KmsKeyArn": "arn:option",
        "FilterName": "overridden",
        "IncludeClusters": "dev-.*",
        "ExcludeClusters": "",
    }
    assert doctor.checked_parameters(NO_OPTIONS, {}, None) == doctor.CHECKED_DEFAULTS


class Account:
    """EKS clusters and their log groups' subscription filters, as the filter-room check reads them."""

    class NotFound(Exception):
        pass

    exceptions = SimpleNamespace(ResourceNotFoundException=NotFound)

    def __init__(self, filters: dict[str, list[str]]):
        self.filters = filters

    def get_paginator(self, _operation):
        return SimpleNamespace(paginate=lambda: [{"clusters": list(self.filters)}])

    def describe_subscription_filters(self, logGroupName):
        cluster = logGroupName.split("/")[3]
        return {"subscriptionFilters": [{"filterName": name} for name in self.filters[cluster]]}


def test_the_filter_room_counts_only_the_clusters_in_scope_and_says_how_many_it_left_out():
    account = Account({"prod-a": [], "prod-tmp": ["siem", "archive"], "dev-b": ["siem", "archive"]})
    scope = doctor.cluster_scope("prod-.*", "prod-tmp")
    (line,) = doctor.check_filter_slots(AwsStub(account), HOME, "eks-audit", scope)
    assert (line.level, line.detail) == (
        "OK",
        "1 cluster, room for eks-audit's filter in each; 2 more out of scope (IncludeClusters, ExcludeClusters)",
    )
    (line,) = doctor.check_filter_slots(AwsStub(account), HOME, "eks-audit", doctor.cluster_scope("", ""))
    assert line.level == "WARN" and line.detail.startswith("2 of 3 clusters' log groups hold 2 foreign")
    assert "out of scope" not in line.detail


def test_a_scope_the_controller_would_refuse_fails_naming_the_parameter():
    (line,), in_scope = doctor.check_scope(".*", "prod-(")
    assert (line.name, line.level, line.fix) == ("cluster scope", "FAIL", "fix ExcludeClusters")
    assert line.detail.startswith("ExcludeClusters 'prod-(' is not a regular expression (")
    assert in_scope("prod-a")
    assert doctor.check_scope(".*", "")[0] == []
