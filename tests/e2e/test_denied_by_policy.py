"""A region that a service control policy denies the account: `status` names it `denied by policy`,
in AWS's words, and does not count it as a failure (an organization's guardrail is no fault)."""

import json

from botocore.exceptions import ClientError
from click.testing import CliRunner

from eks_audit_cli import status as status_module
from eks_audit_cli.errors import denied_by_scp
from eks_audit_cli.main import cli
from tests.e2e.conftest import cloud_with_one_cluster

SCP_MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/operator/me is not authorized to perform: "
    "eks:ListClusters with an explicit deny in a service control policy"
)


def refusal(message: str = SCP_MESSAGE) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, "ListClusters")


def test_only_a_service_control_policys_refusal_is_taken_for_one():
    assert denied_by_scp(refusal())
    assert denied_by_scp(
        refusal(
            "User: x is not authorized to perform: eks:ListClusters because no service control policy allows the eks:ListClusters action"
        )
    )
    assert not denied_by_scp(refusal("User: x is not authorized to perform: eks:ListClusters"))
    assert not denied_by_scp(ValueError(SCP_MESSAGE))


def test_status_names_a_denied_region_and_still_exits_0(monkeypatch):
    with cloud_with_one_cluster() as cloud:
        original = status_module.list_cluster_names

        def listing(eks):
            if eks.meta.region_name == "eu-west-1":
                raise refusal()
            return original(eks)

        monkeypatch.setattr(status_module, "list_cluster_names", listing)
        args = ["status", "--endpoint-url", cloud.endpoint, "--regions", "us-east-1,eu-west-1", "--no-cost"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "eu-west-1: denied by policy" in result.output
        report = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
        (denied,) = [r for r in report["regions"] if r["region"] == "eu-west-1"]
        assert "explicit deny in a service control policy" in denied["denied_by_policy"]
        assert denied["problem"] is None
