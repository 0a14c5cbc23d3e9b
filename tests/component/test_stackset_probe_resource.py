"""The custom resource StackSetRolesReady: SUCCESS once the probe proved the roles in every spoke
region (after the propagation answers it retried), FAILED with AWS's words otherwise, and the
probe's instances removed (the set is CloudFormation's)."""

import pytest

from tests.conftest import REGION, Context, load_handler
from tests.helpers import CloudFormationResponses
from tests.unit.test_stackset_probe import TRUST, FakeCloudFormation


class LongContext(Context):
    """The probe function's 900 s."""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def request(kind: str, url: str) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/eks-audit/uuid",
        "RequestId": "r-1",
        "LogicalResourceId": "StackSetRolesReady",
        "ResourceProperties": {
            "ProbeStackSetName": "eks-audit-iam-probe",
            "AdministrationRoleArn": "arn:aws:iam::123456789012:role/admin",
            "ExecutionRoleName": "eks-audit-1a2b3c4d-spokes-exec",
            "Regions": "eu-west-1,ap-east-1",
        },
    }


@pytest.fixture
def handler(monkeypatch):
    def with_answers(script):
        module = load_handler("stackset_probe")
        cloudformation = FakeCloudFormation(script)
        monkeypatch.setattr(module.clients, "bounded_client", lambda *a, **k: cloudformation)
        probe_for = module.probe_for

        def without_waits(event):
            probe = probe_for(event)
            probe.sleep = lambda seconds: None
            return probe

        monkeypatch.setattr(module, "probe_for", without_waits)
        return module, cloudformation

    return with_answers


def test_create_succeeds_after_the_propagation_delay_and_cleans_up(handler, response_url):
    module, cloudformation = handler([{"eu-west-1": TRUST}, {}])
    module.handler(request("Create", response_url), LongContext())
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "SUCCESS" and answer["Data"] == {"Attempts": "2"}
    assert cloudformation.set_exists and not cloudformation.instances


def test_a_refusal_fails_the_deploy_with_awss_words(handler, response_url):
    module, cloudformation = handler([{"ap-east-1": "Access Denied for sns:CreateTopic"}])
    module.handler(request("Create", response_url), LongContext())
    (answer,) = CloudFormationResponses.answers
    assert not cloudformation.instances  # removed after the failure too
    assert answer["Status"] == "FAILED" and "ap-east-1: Access Denied for sns:CreateTopic" in answer["Reason"]


def test_delete_removes_instances_left_behind(handler, response_url):
    module, cloudformation = handler([])
    cloudformation.instances = {"eu-west-1"}
    module.handler(request("Delete", response_url), Context())
    assert [a["Status"] for a in CloudFormationResponses.answers] == ["SUCCESS"]
    assert cloudformation.set_exists and not cloudformation.instances
