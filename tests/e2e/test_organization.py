"""End-to-end: the organization deploy on `local serve --organization 2`. org.yaml deployed from
the management account gives each member account its controller; an account created and moved
into the OU afterwards gets it through automatic deployment; `status --org` reads every account."""

import json

import pytest
from click.testing import CliRunner

from eks_audit_cli.main import cli
from tests.helpers import put_audit_lines

from .conftest import recorded_cloud


@pytest.fixture(scope="module")
def org_cloud():
    with recorded_cloud(organization=2) as local:
        yield local


def create_cluster(cloud, account: str, name: str) -> None:
    cloud.member_client(account, "eks").create_cluster(
        name=name, roleArn=f"arn:aws:iam::{account}:role/eks", resourcesVpcConfig={}
    )


def onboarded(cloud, account: str, name: str) -> bool:
    """audit on, and our filter on the log group, to the account's own stream."""
    eks, logs = cloud.member_client(account, "eks"), cloud.member_client(account, "logs")
    logging = eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]
    audit = any(entry["enabled"] and "audit" in entry["types"] for entry in logging)
    filters = logs.describe_subscription_filters(logGroupName=f"/aws/eks/{name}/cluster")[
        "subscriptionFilters"
    ]
    ours = [f for f in filters if f["filterName"] == "eks-audit"]
    return audit and len(ours) == 1 and f":{account}:deliverystream/" in ours[0]["destinationArn"]


def status_org(cloud, *args):
    return CliRunner().invoke(cli, ["status", "--org", "--json", "--endpoint-url", cloud.endpoint, *args])


def add_account(cloud, name: str, into_ou: bool = True) -> str:
    organizations = cloud.client("organizations")
    status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"
    ]
    account = status["AccountId"]
    if into_ou:
        organizations.move_account(
            AccountId=account, SourceParentId=cloud.org.root, DestinationParentId=cloud.org.ou
        )
    return account


def test_every_member_account_gets_its_stack_and_onboards_a_new_cluster(org_cloud):
    members = org_cloud.org.members
    assert len(members) == 2 and org_cloud.org.management not in members
    assert sorted(org_cloud.members) == sorted(members)  # a controller per member account
    for account in members:
        create_cluster(org_cloud, account, f"team-{account[-4:]}")
    for account in members:
        assert org_cloud.wait_until(lambda a=account: onboarded(org_cloud, a, f"team-{a[-4:]}"), 30), account
    # what each member got is the plain-CloudFormation build, its code in the artifacts bucket
    artifacts = org_cloud.client("cloudformation").describe_stacks(StackName="eks-audit-artifacts")["Stacks"][
        0
    ]
    bucket = {o["OutputKey"]: o["OutputValue"] for o in artifacts["Outputs"]}["ArtifactsBucketName"]
    for instance in org_cloud.stack_sets.instances.values():
        template = instance.stack.context.template
        assert "Transform" not in template
        reconciler = template["Resources"]["ReconcilerFunction"]
        assert reconciler["Type"] == "AWS::Lambda::Function"
        assert reconciler["Properties"]["Code"]["S3Bucket"] == bucket
    # nothing was deployed to the management account (StackSets never deploy there)
    queues = org_cloud.client("sqs").list_queues().get("QueueUrls", [])
    assert not [q for q in queues if "ReconcileQueue" in q]


def test_an_account_added_to_the_ou_later_is_onboarded_with_no_action(org_cloud):
    account = add_account(org_cloud, "joined-later")
    assert org_cloud.wait_until(lambda: account in org_cloud.members, 30)
    create_cluster(org_cloud, account, "late-team")
    assert org_cloud.wait_until(lambda: onboarded(org_cloud, account, "late-team"), 30)
    # and it delivers: audit lines written to its log group are forwarded by our filter
    logs_client = org_cloud.member_client(account, "logs")

    class AsMember:  # put_audit_lines writes through the cloud's client(service, region)
        def client(self, service, region=None):
            return logs_client

    put_audit_lines(AsMember(), "us-east-1", "late-team", [json.dumps(_audit_event())])


def test_status_org_reports_every_member_compliant_and_names_the_management_account(org_cloud):
    joined = [a for a in org_cloud.members if a not in org_cloud.org.members]
    assert joined, "the account added later is onboarded first"
    assert org_cloud.wait_until(lambda: onboarded(org_cloud, joined[0], "late-team"), 30)
    result = status_org(org_cloud)
    data = json.loads(result.stdout)
    accounts = {entry["account"]: entry for entry in data["accounts"]}
    covered = [*org_cloud.org.members, *joined]
    for account in covered:
        assert accounts[account]["stack"] == "current", accounts[account]
        verdicts = {row["cluster"]: row["verdict"] for row in accounts[account]["clusters"]}
        assert verdicts and set(verdicts.values()) == {"compliant"}, (account, verdicts)
    management = accounts[org_cloud.org.management]
    assert management["stack"] == "management" and "never deploy" in management["reason"]
    assert data["ok"] is True and result.exit_code == 0, result.output
    # progress, a line per batch of accounts read: the last one has read them all
    progress = [line for line in result.stderr.splitlines() if "covered accounts read" in line]
    clusters = sum(len(accounts[a]["clusters"]) for a in covered)
    assert progress[-1].startswith(
        f"  {len(covered)} of {len(covered)} covered accounts read ({clusters} clusters)"
    )


def test_consumer_integrations_lists_each_accounts_topic_role_and_external_id(org_cloud):
    result = CliRunner().invoke(
        cli, ["consumer", "integrations", "--org", "--json", "--endpoint-url", org_cloud.endpoint]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    entries = {entry["account"]: entry for entry in data["integrations"]}
    assert set(entries) == set(org_cloud.members)
    for account, entry in entries.items():
        assert entry["topic_arn"].startswith(f"arn:aws:sns:us-east-1:{account}:")
        assert entry["role_arn"].startswith(f"arn:aws:iam::{account}:role/")
        assert entry["external_id"] == "eks-audit-local-external-id"
    assert [e["account"] for e in data["not_covered"]] == [org_cloud.org.management]


def test_an_account_outside_the_ous_is_named_and_fails_the_status(org_cloud):
    outsider = add_account(org_cloud, "outside", into_ou=False)
    result = status_org(org_cloud)
    accounts = {entry["account"]: entry for entry in json.loads(result.stdout)["accounts"]}
    assert accounts[outsider]["stack"] == "not targeted"
    assert result.exit_code == 1
    # moved into the OU, it is covered (automatic deployment), and the status passes again
    org_cloud.client("organizations").move_account(
        AccountId=outsider, SourceParentId=org_cloud.org.root, DestinationParentId=org_cloud.org.ou
    )
    assert org_cloud.wait_until(lambda: outsider in org_cloud.members, 30)
    assert status_org(org_cloud).exit_code == 0


def test_an_account_leaving_the_ou_loses_its_stack_and_keeps_its_audit_bucket(org_cloud):
    account = org_cloud.org.members[0]
    s3 = org_cloud.member_client(account, "s3")
    buckets_before = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert buckets_before
    org_cloud.client("organizations").move_account(
        AccountId=account, SourceParentId=org_cloud.org.ou, DestinationParentId=org_cloud.org.root
    )
    assert org_cloud.wait_until(lambda: account not in org_cloud.members, 30)
    sqs = org_cloud.member_client(account, "sqs")
    assert org_cloud.wait_until(lambda: not sqs.list_queues().get("QueueUrls"), 30)  # its stack is gone
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == buckets_before  # DeletionPolicy Retain
    accounts = {e["account"]: e for e in json.loads(status_org(org_cloud).stdout)["accounts"]}
    assert accounts[account]["stack"] == "not targeted"


def _audit_event() -> dict:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "5c2b0c57-0000-4000-8000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/secrets",
        "verb": "list",
        "user": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "objectRef": {"resource": "secrets", "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"code": 200},
    }
