"""`make demo` (interim): the real library against moto on a small scenario.

Clusters in several states; for each round the controller observes, plans and applies, and the
output shows what it decided and did. Exit status 0 only when every expectation holds.
"""

from __future__ import annotations

import json
import sys
import time

import boto3
from moto import mock_aws

from eks_audit import clients
from eks_audit.aws import ClusterApi
from eks_audit.model import Verdict
from eks_audit.reconcile import reconcile
from eks_audit.settings import Settings
from eks_audit_local import eks_lifecycle

REGION = "us-east-1"
ACCOUNT = "123456789012"


def provision_pipeline() -> Settings:
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role = iam.create_role(RoleName="eks-audit-logs-to-firehose", AssumeRolePolicyDocument=trust)["Role"][
        "Arn"
    ]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="eks-audit-demo")
    stream = boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="eks-audit",
        ExtendedS3DestinationConfiguration={
            "RoleARN": role,
            "BucketARN": "arn:aws:s3:::eks-audit-demo",
            "Prefix": f"eks_audit_logs/{ACCOUNT}/",
        },
    )
    return Settings(stream["DeliveryStreamARN"], role, wait_creating_seconds=2, wait_updating_seconds=1)


def create(name: str, **extra) -> None:
    boto3.client("eks", region_name=REGION).create_cluster(
        name=name, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={}, **extra
    )


def main() -> int:
    eks_lifecycle.install(creating_seconds=2.0, update_seconds=1.0)
    with mock_aws():
        settings = provision_pipeline()
        api = ClusterApi(clients.client("eks", REGION), clients.client("logs", REGION))
        logs = boto3.client("logs", region_name=REGION)

        print("== scenario: four clusters")
        create("payments", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
        print("  payments   new cluster (api logging on), CREATING")
        create("sandbox", tags={"eks-audit:skip": "true"})
        print("  sandbox    opted out with tag eks-audit:skip=true")
        create("shared")
        group = "/aws/eks/shared/cluster"
        logs.create_log_group(logGroupName=group)
        for name in ("datadog", "splunk"):
            logs.put_subscription_filter(
                logGroupName=group,
                filterName=name,
                filterPattern="",
                destinationArn=settings.firehose_arn,
                roleArn=settings.logs_role_arn,
            )
        print("  shared     log group already holds 2 foreign filters (the limit)")
        create("analytics")
        print("  analytics  existing cluster, nothing instrumented")

        names = ["payments", "sandbox", "shared", "analytics"]
        print("\n== dry run (plan only)")
        for name in names:
            show(reconcile(api, settings, name, REGION, dry_run=True))

        pending = {name: None for name in names}
        final = {}
        for round_ in range(1, 8):
            if not pending:
                break
            print(f"\n== round {round_}")
            for name, update_id in list(pending.items()):
                outcome = reconcile(api, settings, name, REGION, update_id=update_id)
                show(outcome)
                final[name] = outcome
                if outcome.requeue_after is None:
                    del pending[name]
                else:
                    pending[name] = outcome.update_id or update_id
            time.sleep(1.1)

        print("\n== drift: someone deletes our filter on payments")
        logs.delete_subscription_filter(logGroupName="/aws/eks/payments/cluster", filterName="eks-audit")
        final["payments"] = repaired = reconcile(api, settings, "payments", REGION)
        show(repaired)

        expected = {
            "payments": Verdict.COMPLIANT,
            "sandbox": Verdict.SKIPPED,
            "shared": Verdict.CONFLICT,
            "analytics": Verdict.COMPLIANT,
        }
        print("\n== coverage")
        failures = []
        for name in names:
            got = final[name].verdict
            mark = "ok " if got is expected[name] else "BAD"
            if got is not expected[name]:
                failures.append(name)
            print(f"  {mark} {name:10} {got:10} {final[name].reason}")
        foreign = {
            f["filterName"]
            for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        }
        if foreign != {"datadog", "splunk"}:
            failures.append("foreign filters were modified")
        print("\nall expectations hold" if not failures else f"\nFAILED: {failures}")
        return 1 if failures else 0


def show(outcome) -> None:
    actions = ", ".join(outcome.actions) or "-"
    wait = f" (look again in {outcome.requeue_after}s)" if outcome.requeue_after else ""
    print(f"  {outcome.cluster:10} {outcome.verdict:10} actions: {actions}{wait}\n  {'':10} {outcome.reason}")


if __name__ == "__main__":
    sys.exit(main())
