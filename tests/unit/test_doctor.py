"""eks-audit doctor's judgements: the key policy against who needs the key, the principal IAM's
simulator is asked about, a denied or failed check as one WARN line, and the deploy actions it asks
the simulator about are those the CloudFormation registry lists for template.yaml's resource types."""

import pytest
from botocore.exceptions import ClientError

from eks_audit_cli import doctor
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
