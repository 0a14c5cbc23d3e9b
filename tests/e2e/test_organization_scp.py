"""End-to-end: an organization where a service control policy denies one member account a spoke
region (the shape of AWS's region-deny example). That account's spoke fails there and nowhere else;
the other account is covered everywhere; `status --org` names the denied region, not a failure."""

import json

from click.testing import CliRunner

from eks_audit_cli.main import cli

from .conftest import recorded_cloud

SPOKE = "eu-west-1"


def test_a_region_denied_to_one_account_fails_only_there_and_is_named_denied_by_policy():
    with recorded_cloud(organization=2, spoke_regions=(SPOKE,), allowed_regions={1: ("us-east-1",)}) as cloud:
        free, fenced = cloud.org.members
        states = {(a, r): i.failure for (_, a, r), i in cloud.stack_sets.instances.items()}
        assert states[(free, "us-east-1")] is None and states[(free, SPOKE)] is None
        assert states[(fenced, "us-east-1")] is None  # covered where it is allowed
        assert "with an explicit deny in a service control policy" in states[(fenced, SPOKE)]

        # the SCP refuses that account's own calls in the region too, in AWS's words
        eks = cloud.member_client(fenced, "eks", SPOKE)
        try:
            eks.list_clusters()
            raise AssertionError("an SCP-denied region answered")
        except eks.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDeniedException"
            assert "explicit deny in a service control policy" in exc.response["Error"]["Message"]
        cloud.member_client(free, "eks", SPOKE).list_clusters()  # the other account is not fenced

        args = ["status", "--org", "--endpoint-url", cloud.endpoint, "--region", "us-east-1", "--window", "0"]
        result = CliRunner().invoke(cli, [*args, "--json"])
        accounts = {a["account"]: a for a in json.loads(result.stdout)["accounts"]}
        assert accounts[fenced]["stack"] == "current" and accounts[fenced]["denied_by_policy"] == [SPOKE]
        assert accounts[fenced]["problems"] == []
        assert accounts[free]["stack"] == "current" and accounts[free]["denied_by_policy"] == []
        text = CliRunner().invoke(cli, args)
        assert f"{fenced}: {SPOKE}: denied by policy" in text.output


def test_with_no_failure_tolerance_one_denied_account_cancels_the_others(monkeypatch):
    """The control: the preferences org.yaml had before (a tolerance of 0) let one account's failure
    cancel the accounts after it in that region, as AWS documents; StackSets names them CANCELLED."""
    from eks_audit_local import organization

    monkeypatch.setattr(
        organization,
        "failure_tolerance",
        lambda preferences, accounts: float("inf") if preferences is None else 0,
    )
    # two of three accounts fenced: whatever the order, the first failure cancels what comes after
    fences = {0: ("us-east-1",), 1: ("us-east-1",)}
    with recorded_cloud(organization=3, spoke_regions=(SPOKE,), allowed_regions=fences) as cloud:
        spoke = [i for (_, _, r), i in cloud.stack_sets.instances.items() if r == SPOKE]
        assert sum(i.failure is not None for i in spoke) == 1
        cancelled = [i.account for i in spoke if i.cancelled]
        assert cancelled
        args = [
            "status",
            "--org",
            "--endpoint-url",
            cloud.endpoint,
            "--region",
            "us-east-1",
            "--window",
            "0",
            "--json",
        ]
        accounts = {a["account"]: a for a in json.loads(CliRunner().invoke(cli, args).stdout)["accounts"]}
        problems = accounts[cancelled[0]]["problems"]
        (problem,) = [p for p in problems if "CANCELLED" in p]
        assert problem.startswith(
            f"{SPOKE}: spoke stack instance OUTDATED/CANCELLED: Cancelled since failure tolerance"
        )


def test_failure_tolerance_is_counted_per_region_as_aws_rounds_it():
    from eks_audit_local.organization import failure_tolerance

    assert failure_tolerance({}, 10) == 0  # AWS's default
    assert failure_tolerance({"FailureTolerancePercentage": 100}, 7) == 7
    assert failure_tolerance({"FailureTolerancePercentage": 25}, 7) == 1  # rounded down
    assert failure_tolerance({"FailureToleranceCount": 3}, 100) == 3
    assert failure_tolerance(None, 5) == float("inf")  # automatic deployments: no preferences
