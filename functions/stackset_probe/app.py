"""Custom resource `Custom::StackSetRolesReady`: returns once the spokes' StackSet roles are proven
usable in every spoke region (eks_audit.stackset_probe), so that the StackSet, which depends on it,
does not meet IAM's propagation delay. Delete (and the end of Create/Update) removes the instances
of the probe StackSet (CloudFormation's resource ProbeStackSet, which it deletes after this one).
Thin: ask the library, answer CloudFormation.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from eks_audit import cfn_response, clients
from eks_audit.stackset_probe import Probe

logger = Logger()
CLEANUP_SECONDS = 240.0  # kept for deleting the probe's instances after the proof


def probe_for(event: dict) -> Probe:
    properties = event["ResourceProperties"]
    return Probe(
        clients.bounded_client("cloudformation", os.environ["AWS_REGION"], read_timeout=20),
        set_name=properties["ProbeStackSetName"],
        account=event["StackId"].split(":")[4],
    )


@logger.inject_lambda_context
def handler(event: dict, context) -> None:
    probe = probe_for(event)
    regions = [r for r in event["ResourceProperties"].get("Regions", "").split(",") if r]

    def work(deadline: float) -> dict[str, str]:
        deadline -= 1  # finish before run_before_deadline gives up
        if event["RequestType"] == "Delete":
            probe.remove(deadline)
            return {}
        try:
            probe.prove(regions, deadline - CLEANUP_SECONDS)
            logger.info(
                f"StackSet roles usable in {len(regions)} regions", extra={"attempts": probe.attempts}
            )
        finally:
            try:
                probe.remove(deadline)
            except Exception:  # the answer stands; the stack's Delete removes what is left
                logger.exception(f"instances of the probe StackSet {probe.set_name} left behind")
        return {"Attempts": str(max(probe.attempts.values(), default=0))}

    cfn_response.answer(
        event, context, work, physical_id=event["ResourceProperties"]["ProbeStackSetName"], logger=logger
    )
