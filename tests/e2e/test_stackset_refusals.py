"""The local cloud's StackSet fails a stack instance as AWS would: an execution role that lacks a
permission a handler of spoke.yaml calls, or an administration role that does not trust an opt-in
region's CloudFormation principal, fails the instance, naming what is missing; the deploy fails."""

import uuid

import pytest

from eks_audit import clients
from eks_audit_local.deploy import StackInstanceFailed, deploy
from eks_audit_local.server import ACCOUNT, CONSUMER_ACCOUNT, LocalCloud
from eks_audit_local.template import TEMPLATE


@pytest.fixture(scope="module")
def cloud():
    clients.reset()
    local = LocalCloud(port=0, region="us-east-1", spoke_regions=("eu-west-1", "ap-east-1"))
    local.start_server()
    yield local
    local.stop()
    clients.reset()


def edited_template(tmp_path, edit) -> str:
    """template.yaml with `edit` applied to its text (spoke.yaml stays the project's own)."""
    path = tmp_path / "template.yaml"
    edited = edit(TEMPLATE.read_text())
    assert edited != TEMPLATE.read_text()
    path.write_text(edited)
    return path


def deploy_with(cloud, template_path, spokes: str):
    parameters = {"ConsumerPrincipal": CONSUMER_ACCOUNT, "ExternalId": "x", "SpokeRegions": spokes}
    unique = uuid.uuid4()  # a stack of its own each time: resource names derive from the stack's
    stack_id = f"arn:aws:cloudformation:{cloud.region}:{ACCOUNT}:stack/eks-audit-{str(unique)[:8]}/{unique}"
    return deploy(
        cloud.client,
        parameters,
        region=cloud.region,
        account=ACCOUNT,
        template_path=template_path,
        stack_id=stack_id,
    )


@pytest.mark.parametrize(
    ("spokes", "text", "edited", "failure"),
    [
        (  # the execution role without one action a handler of AWS::Events::Rule calls
            "eu-west-1",
            "                  - events:TagResource\n",
            "",
            r"eu-west-1 FAILED: .*not authorized to perform events:TagResource",
        ),
        (  # the administration role trusting only the global principal, with an opt-in spoke
            "ap-east-1",
            '!Split [",", !GetAtt EnabledRegions.CloudFormationPrincipals]',
            "cloudformation.amazonaws.com",
            r"ap-east-1 FAILED: .* does not trust cloudformation.ap-east-1",
        ),
    ],
    ids=["missing-handler-permission", "opt-in-principal-not-trusted"],
)
def test_the_stack_instance_fails_naming_what_is_missing(cloud, tmp_path, spokes, text, edited, failure):
    path = edited_template(tmp_path, lambda template: template.replace(text, edited, 1))
    with pytest.raises(StackInstanceFailed, match=failure):
        deploy_with(cloud, path, spokes)
