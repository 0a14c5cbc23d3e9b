"""Custom resource `Custom::EnabledRegions`: with SpokeRegions=ALL, the regions enabled for the
account, minus this one, as the attribute `Spokes` (comma-separated) that the StackSet and the
functions' settings use. Thin: ask the library, answer CloudFormation.

The answer is a PUT of a small JSON document to the presigned ResponseURL
(AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html); written here rather than with
crhelper, which would add a dependency to the layer for these few lines.
"""

from __future__ import annotations

import json
import os
import urllib.request

from aws_lambda_powertools import Logger

from eks_audit import clients
from eks_audit.regions import spoke_regions

logger = Logger()
PHYSICAL_ID = "eks-audit-enabled-regions"


@logger.inject_lambda_context
def handler(event: dict, context) -> None:
    status, data, reason = "SUCCESS", {}, ""
    try:
        if event["RequestType"] in ("Create", "Update"):
            home = os.environ["AWS_REGION"]
            spokes = spoke_regions(clients.client("ec2", home), home)
            if not spokes:
                raise ValueError(
                    f"no region but {home} is enabled for the account: set SpokeRegions to empty"
                )
            data = {"Spokes": ",".join(spokes)}
            logger.info(f"covering {len(spokes)} spoke regions: {data['Spokes']}")
    except Exception as exc:  # CloudFormation must hear of every failure, or it waits an hour
        logger.exception("cannot list the enabled regions")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
    respond(event, status, data, reason or f"see CloudWatch Logs stream {context.log_stream_name}")


def respond(event: dict, status: str, data: dict, reason: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
