"""Find the deployed stack of a region and read the controller's settings from it, so that an
operator never types an ARN."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from eks_audit.settings import Settings

DEFAULT_STACK_NAME = "eks-audit"
PLACEHOLDER_ARN = "arn:aws:firehose:{region}:000000000000:deliverystream/not-deployed"


class StackNotFound(RuntimeError):
    def __init__(self, stack_name: str, region: str):
        self.region = region
        super().__init__(
            f"no eks-audit stack named {stack_name!r} in {region}. Deploy it with "
            f"`sam build && sam deploy --guided --region {region}` (or name yours with --stack-name)."
        )


@dataclass(frozen=True)
class DeployedStack:
    name: str
    region: str
    outputs: dict[str, str]
    parameters: dict[str, str]

    def settings(self) -> Settings:
        return Settings(
            firehose_arn=self.outputs["FirehoseArn"],
            logs_role_arn=self.outputs["LogsRoleArn"],
            filter_name=self.outputs.get("FilterName", "eks-audit"),
            filter_pattern=self.outputs.get("FilterPattern", self.parameters.get("FilterPattern", "")),
            include_clusters=self.parameters.get("IncludeClusters") or ".*",
            exclude_clusters=self.parameters.get("ExcludeClusters", ""),
            log_retention_days=int(self.parameters["LogRetentionDays"])
            if self.parameters.get("LogRetentionDays")
            else None,
            reconcile_queue_url=self.outputs.get("ReconcileQueueUrl"),
        )


def find_stack(cloudformation, stack_name: str, region: str) -> DeployedStack:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc) or exc.response["Error"]["Code"] in (
            "ValidationError",
            "StackNotFoundException",
        ):
            raise StackNotFound(stack_name, region) from None
        raise
    if not stacks or stacks[0].get("StackStatus", "").startswith("DELETE"):
        raise StackNotFound(stack_name, region)
    stack = stacks[0]
    return DeployedStack(
        name=stack_name,
        region=region,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
    )


def placeholder_settings(region: str) -> Settings:
    """For a dry run before the stack exists: the plan is the same, only the destination is unknown."""
    return Settings(
        firehose_arn=PLACEHOLDER_ARN.format(region=region),
        logs_role_arn="arn:aws:iam::000000000000:role/not-deployed",
    )
