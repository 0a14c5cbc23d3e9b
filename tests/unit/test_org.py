"""Which accounts of an organization the organization deploy covers, decided from what
Organizations and ListStackInstances answer (eks_audit_cli.org, pure)."""

import pytest

from eks_audit_cli.coverage import Row
from eks_audit_cli.org import (
    AccountCoverage,
    InstanceSummary,
    OrgAccount,
    judge_accounts,
    judge_spokes,
    list_accounts,
    not_covered,
    org_ok,
)

MANAGEMENT = "111111111111"
HOME = "us-east-1"


def row(verdict: str) -> Row:
    return Row(HOME, "c", "ACTIVE", "on", "present", "ok", (), verdict, "")


def judged(*instances: InstanceSummary, accounts=None) -> dict[str, AccountCoverage]:
    accounts = accounts or [
        OrgAccount(MANAGEMENT, "management"),
        OrgAccount("222222222222", "payments"),
        OrgAccount("333333333333", "sandbox"),
    ]
    return {c.account: c for c in judge_accounts(accounts, MANAGEMENT, instances, HOME)}


def test_the_management_account_is_named_never_deployed():
    coverage = judged(InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED", stack_id="arn:s"))
    assert coverage[MANAGEMENT].stack == "management"
    assert "never deploy" in coverage[MANAGEMENT].reason
    assert coverage["222222222222"].deployed and coverage["222222222222"].stack_id == "arn:s"


def test_an_account_without_an_instance_is_not_targeted():
    coverage = judged(InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED"))
    assert coverage["333333333333"].stack == "not targeted"
    assert "OrganizationalUnitIds" in coverage["333333333333"].reason


def test_a_failed_instance_is_named_with_aws_reason():
    coverage = judged(
        InstanceSummary("333333333333", HOME, "OUTDATED", "FAILED", "ResourceLogicalId:AuditBucket, ...")
    )
    assert coverage["333333333333"].stack == "failed"
    assert coverage["333333333333"].reason.endswith("ResourceLogicalId:AuditBucket, ...")
    inoperable = judged(InstanceSummary("333333333333", HOME, "INOPERABLE", "SUCCEEDED"))
    assert inoperable["333333333333"].stack == "failed"


def test_an_instance_still_running_is_outdated_not_covered():
    coverage = judged(InstanceSummary("333333333333", HOME, "OUTDATED", "RUNNING"))
    assert coverage["333333333333"].stack == "outdated"
    assert not_covered(coverage["333333333333"])


def test_an_instance_in_another_region_does_not_cover_the_home_region():
    coverage = judged(InstanceSummary("222222222222", "eu-west-1", "CURRENT", "SUCCEEDED"))
    assert coverage["222222222222"].stack == "not targeted"


def test_a_suspended_account_is_named_and_does_not_count():
    coverage = judged(accounts=[OrgAccount("444444444444", "closed", "SUSPENDED")])
    assert coverage["444444444444"].stack == "suspended"
    assert not not_covered(coverage["444444444444"])


def test_the_management_account_counts_only_with_clusters_and_no_stack_of_its_own():
    management = judged()[MANAGEMENT]
    assert not not_covered(management)  # nothing seen to ship
    management.rows = [row("uncovered")]
    assert not_covered(management)
    management.has_own_stack = True
    assert not not_covered(management)


def test_the_organization_is_ok_only_when_each_account_is_covered_and_compliant():
    coverage = judged(
        InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED"),
        InstanceSummary("333333333333", HOME, "CURRENT", "SUCCEEDED"),
    )
    needs_attention = lambda r: r.verdict != "compliant"  # noqa: E731
    coverage["222222222222"].rows = [row("compliant")]
    assert org_ok(list(coverage.values()), needs_attention)
    coverage["333333333333"].rows = [row("drifted")]
    assert not org_ok(list(coverage.values()), needs_attention)
    coverage["333333333333"].rows = []
    coverage["333333333333"].problems = ["cannot read it through arn:aws:iam::333333333333:role/x-org-read"]
    assert not org_ok(list(coverage.values()), needs_attention)
    uncovered = judged(InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED"))
    assert not org_ok(list(uncovered.values()), needs_attention)  # sandbox is not targeted


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("", "the file is empty"),
        ("# A title\n\n- a: [b\n", "not a template (it does not parse as YAML or JSON"),
        ("just: words\n", "not a CloudFormation template (no Resources)"),
        (None, "not template.yaml's packaged form"),  # spoke.yaml
    ],
    ids=["empty", "markdown", "yaml", "spoke.yaml"],
)
def test_org_template_refuses_anything_but_template_yamls_packaged_form(tmp_path, content, said):
    """It wrote spoke.yaml over the member template the organization deploy uses, and traced back
    on an empty file."""
    from pathlib import Path

    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    source = tmp_path / "in.yaml"
    if content is None:
        source.write_text((Path(__file__).parents[2] / "spoke.yaml").read_text())
    else:
        source.write_text(content)
    output = tmp_path / "member.yaml"
    result = CliRunner().invoke(cli, ["org", "template", str(source), "--output", str(output)])
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output
    assert not output.exists()


# StatusReason as StackSets reports an SCP's refusal: AWS's AccessDenied wording for a service
# control policy (IAM's access-denied messages), inside the stack's failure
SCP_REASON = (
    "ResourceLogicalId:AuditBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:User: "
    "arn:aws:sts::333333333333:assumed-role/stacksets-exec-abc/x is not authorized to perform: "
    "s3:CreateBucket with an explicit deny in a service control policy."
)


def test_every_failed_spoke_instance_is_named_by_account_and_region_with_what_to_do():
    coverage = judged(
        InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED"),
        InstanceSummary("333333333333", HOME, "CURRENT", "SUCCEEDED"),
    )
    coverages = list(coverage.values())
    judge_spokes(
        coverages,
        [
            InstanceSummary("222222222222", "eu-west-1", "CURRENT", "SUCCEEDED"),
            InstanceSummary(
                "333333333333", "eu-west-1", "OUTDATED", "FAILED", "Resource handler returned: boom"
            ),
            InstanceSummary("333333333333", "ap-south-1", "INOPERABLE", "SUCCEEDED"),
        ],
        "org-spokes",
    )
    assert coverage["222222222222"].problems == []
    ap, eu = coverage["333333333333"].problems  # by region
    assert eu.startswith("eu-west-1: spoke stack instance OUTDATED/FAILED: Resource handler returned: boom")
    assert "--stack-set-name org-spokes" in eu and "--regions eu-west-1" in eu
    assert ap.startswith("ap-south-1: spoke stack instance INOPERABLE/SUCCEEDED: StackSets gave no reason")
    assert not org_ok(coverages, lambda row: False)


def test_a_region_a_service_control_policy_denies_is_named_not_failed():
    coverage = judged(
        InstanceSummary("222222222222", HOME, "CURRENT", "SUCCEEDED"),
        InstanceSummary("333333333333", HOME, "CURRENT", "SUCCEEDED"),
    )
    coverages = [c for c in coverage.values() if c.account != MANAGEMENT]
    judge_spokes(
        coverages, [InstanceSummary("333333333333", "eu-west-1", "OUTDATED", "FAILED", SCP_REASON)], "s"
    )
    assert coverage["333333333333"].denied_by_policy == ["eu-west-1"]
    assert coverage["333333333333"].problems == []
    assert org_ok(coverages, lambda row: False)


def test_a_suspended_accounts_spokes_are_no_failures():
    accounts = [OrgAccount(MANAGEMENT, "management"), OrgAccount("333333333333", "gone", "SUSPENDED")]
    coverage = judged(accounts=accounts)
    judge_spokes(
        list(coverage.values()), [InstanceSummary("333333333333", "eu-west-1", "INOPERABLE", "FAILED")], "s"
    )
    assert coverage["333333333333"].problems == [] and coverage["333333333333"].stack == "suspended"


@pytest.mark.parametrize(
    ("state", "shown"), [("PENDING_CLOSURE", "closed"), ("CLOSED", "closed"), ("SUSPENDED", "suspended")]
)
def test_closed_and_suspended_accounts_are_listed_as_such_never_as_failures(state, shown):
    accounts = [OrgAccount(MANAGEMENT, "management"), OrgAccount("333333333333", "old", state)]
    coverage = judged(
        InstanceSummary("333333333333", HOME, "OUTDATED", "FAILED", "whatever"), accounts=accounts
    )
    assert coverage["333333333333"].stack == shown and coverage["333333333333"].reason == f"account {state}"
    assert not not_covered(coverage["333333333333"])


def test_an_instance_stacksets_skipped_for_a_suspended_account_is_no_failure():
    coverage = judged(InstanceSummary("333333333333", HOME, "OUTDATED", "SKIPPED_SUSPENDED_ACCOUNT"))
    assert coverage["333333333333"].stack == "suspended"
    assert not not_covered(coverage["333333333333"])


def test_the_accounts_state_is_read_before_its_older_status():
    class Organizations:
        def get_paginator(self, name):
            return self

        def paginate(self):
            return [
                {
                    "Accounts": [
                        {"Id": "1", "Name": "a", "Status": "SUSPENDED", "State": "CLOSED"},
                        {"Id": "2", "Name": "b", "Status": "ACTIVE"},
                    ]
                }
            ]

    assert [a.status for a in list_accounts(Organizations())] == ["CLOSED", "ACTIVE"]


def test_an_account_written_out_keeps_what_the_summary_and_the_exit_code_need():
    """status --org --json lets an account's rows go once written: the organization's verdict, the
    delivery totals and the table say the same of its tally as of its rows."""
    from dataclasses import replace

    from eks_audit_cli.status import delivery_totals, render_org

    def attention(r: Row) -> bool:
        return r.verdict != "compliant"

    delivered = replace(row("compliant"), delivery={"received": 10, "forwarded": 8})
    for rows in ([delivered, row("compliant")], [delivered, row("drifted")], []):
        kept = AccountCoverage("222222222222", "payments", "current", rows=list(rows))
        condensed = AccountCoverage("222222222222", "payments", "current", rows=list(rows))
        condensed.condense(attention)
        assert condensed.rows == [] and condensed.tally.clusters == len(rows)
        assert org_ok([condensed], attention) == org_ok([kept], attention)
        assert delivery_totals([condensed]) == delivery_totals([kept])
        assert render_org([condensed]) == render_org([kept])
