"""Custom resource `Custom::EnabledRegions`: the spoke regions of the deployment (SpokeRegions=ALL:
every region enabled for the account but this one; a list: those regions, each checked to be
enabled), as the attribute `Spokes` (comma-separated), and the service principals the stack's
policies must name for them (`CloudFormationPrincipals`, `SnsPrincipals`: the regional principal of
each opt-in region besides the global one). It first checks that `KmsKeyArn` names a key of this
region: the resources that use the key wait for this answer. Thin: ask the library, answer
CloudFormation.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from eks_audit import cfn_response, clients
from eks_audit.regions import check_key_region, resolve_coverage

logger = Logger()
PHYSICAL_ID = "eks-audit-enabled-regions"


def coverage_data(requested: str, key_arn: str) -> dict[str, str]:
    home = os.environ["AWS_REGION"]
    check_key_region(key_arn, home)
    coverage = resolve_coverage(clients.bounded_client("ec2", home), home, requested)
    logger.info(f"covering {len(coverage.spokes)} spoke regions: {','.join(coverage.spokes)}")
    return coverage.attributes()


@logger.inject_lambda_context
def handler(event: dict, context) -> None:
    properties = event.get("ResourceProperties", {})
    requested, key_arn = properties.get("SpokeRegions", "ALL"), properties.get("KmsKeyArn", "")

    def work(_deadline: float) -> dict[str, str]:  # the bounded client ends well before it
        return {} if event["RequestType"] == "Delete" else coverage_data(requested, key_arn)

    cfn_response.answer(event, context, work, physical_id=PHYSICAL_ID, logger=logger)
