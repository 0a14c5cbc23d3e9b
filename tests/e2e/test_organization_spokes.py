"""End-to-end: the organization deploy with a spoke region. The organization's spoke StackSet
(org.yaml) deploys spoke.yaml to each member account, and that account's controller covers the
region: its stream there, its notifications relayed to its home topic."""

from .conftest import recorded_cloud

SPOKE = "eu-west-1"


def test_a_member_accounts_cluster_in_a_spoke_region_is_onboarded_to_that_regions_stream():
    with recorded_cloud(organization=1, spoke_regions=(SPOKE,)) as cloud:
        (account,) = cloud.org.members
        deployed = {(s, r): i.failure for (s, a, r), i in cloud.stack_sets.instances.items() if a == account}
        assert deployed == {
            ("eks-audit-org-members", "us-east-1"): None,
            ("eks-audit-org-spokes", SPOKE): None,
        }
        cloud.member_client(account, "eks", SPOKE).create_cluster(
            name="berlin", roleArn=f"arn:aws:iam::{account}:role/eks", resourcesVpcConfig={}
        )
        eks, logs = cloud.member_client(account, "eks", SPOKE), cloud.member_client(account, "logs", SPOKE)

        def onboarded() -> bool:
            logging = eks.describe_cluster(name="berlin")["cluster"]["logging"]["clusterLogging"]
            filters = logs.describe_subscription_filters(logGroupName="/aws/eks/berlin/cluster")
            destinations = [f["destinationArn"] for f in filters["subscriptionFilters"]]
            audit = any(entry["enabled"] and "audit" in entry["types"] for entry in logging)
            return audit and destinations == [
                f"arn:aws:firehose:{SPOKE}:{account}:deliverystream/{cloud.org_stack.output('NamePrefix')}-audit"
            ]

        assert cloud.wait_until(onboarded, 40)
