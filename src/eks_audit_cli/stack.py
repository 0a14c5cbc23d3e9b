"""Find the deployed eks-audit stacks and read the controller's settings from them, so that an
operator never types an ARN. A stack lives in its home region and covers the spoke regions its
outputs name (CoveredRegions); a region's settings come from the stack that covers it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eks_audit.concurrency import in_parallel
from eks_audit.settings import Settings

DEFAULT_STACK_NAME = "eks-audit"  # the name a stack from before MARKER was looked for by
# The output every eks-audit home stack declares itself by (template.yaml), whatever deployed it
# (`sam deploy`, the organization's member StackSet) and whatever its name
MARKER = "EksAuditStack"
PLACEHOLDER_ARN = "arn:aws:firehose:{region}:000000000000:deliverystream/not-deployed"


def stack_words(stack_name: str | None) -> str:
    return f"no eks-audit stack named {stack_name!r}" if stack_name else "no eks-audit stack"


class StackNotFound(RuntimeError):
    """`stack_name` None: the stack was looked for by what it declares (MARKER), not by name."""

    def __init__(self, stack_name: str | None, region: str, homes: tuple[str, ...] = ()):
        self.region = region
        if homes:
            message = (
                f"{stack_words(stack_name)} covers {region}: add it to the SpokeRegions "
                f"parameter of the stack in {', '.join(homes)} and run `.venv-sam/bin/sam deploy` there."
            )
        else:
            message = (
                f"{stack_words(stack_name)} in {region}. Deploy it (README, Deploying: `make build`, then "
                f"`.venv-sam/bin/sam deploy --guided --region {region}`), or name yours with --stack-name; "
                "give --home-region when the stack's home is a region not listed."
            )
        super().__init__(message)


class AmbiguousStacks(RuntimeError):
    """Two eks-audit home stacks in one region: which one is meant is the operator's to say."""

    def __init__(self, region: str, names: list[str]):
        super().__init__(
            f"{len(names)} eks-audit stacks in {region}: {', '.join(sorted(names))}; give --stack-name "
            "(one account has one controller: README, Deploying)"
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
            spoke_regions=tuple(r for r in self.covered_regions if r != self.region),
            spoke_name_prefix=self.outputs.get("SpokeNamePrefix"),
        )

    def delivery_location(self, region: str) -> tuple[str, str]:
        """(bucket, key prefix) of what is delivered in `region`, one of the covered regions: the
        home bucket here, a spoke's bucket `<prefix>-<account>-<region>` there (spoke.yaml)."""
        prefix = f"eks_audit_logs/{self.account}/{region}/"
        if region == self.region:
            return self.outputs["BucketName"], prefix
        return f"{self.outputs['SpokeNamePrefix']}-{self.account}-{region}", prefix

    def topic_name(self, region: str) -> str | None:
        """The topic notified of new objects in `region` (the spokes' are named by the prefix)."""
        if region == self.region:
            arn = self.outputs.get("TopicArn")
            return arn.rsplit(":", 1)[1] if arn else None
        return f"{self.outputs['SpokeNamePrefix']}-audit"

    @property
    def account(self) -> str:
        return self.outputs["FirehoseArn"].split(":")[4]

    @property
    def partition(self) -> str:
        return self.outputs["FirehoseArn"].split(":")[1]

    def topic_arn(self, region: str) -> str | None:
        """The ARN of the topic notified of new objects in `region`."""
        name = self.topic_name(region)
        return f"arn:{self.partition}:sns:{region}:{self.account}:{name}" if name else None

    @property
    def sweep_schedule(self) -> str:
        """The sweep's schedule expression (template.yaml's default when the stack does not say)."""
        return self.parameters.get("SweepSchedule") or "rate(6 hours)"

    def events_target(self, region: str) -> str | None:
        """Where the stack's CloudTrail rules in `region` deliver: the reconcile queue at home, the
        home region's default bus in a spoke (spoke.yaml). None when the outputs do not say."""
        queue = self.outputs.get("ReconcileQueueUrl", "")
        if "FirehoseArn" not in self.outputs or not queue:
            return None
        if region == self.region:
            return f"arn:{self.partition}:sqs:{region}:{self.account}:{queue.rstrip('/').rsplit('/', 1)[1]}"
        return f"arn:{self.partition}:events:{self.region}:{self.account}:event-bus/default"

    @property
    def covered_regions(self) -> tuple[str, ...]:
        """This stack's region and its spokes' (a stack of before multi-region covers its own)."""
        listed = self.outputs.get("CoveredRegions", "")
        return tuple(r for r in listed.split(",") if r) or (self.region,)


@dataclass(frozen=True)
class Deployments:
    """The stacks found, by home region; each region's settings come from the one that covers it."""

    stack_name: str | None
    homes: dict[str, DeployedStack]

    def home_of(self, region: str) -> DeployedStack | None:
        return next((home for home in self.homes.values() if region in home.covered_regions), None)

    def settings_for(self, region: str) -> Settings:
        home = self.home_of(region)
        settings = home.settings().for_region(region) if home is not None else None
        if settings is None:
            raise StackNotFound(self.stack_name, region, tuple(self.homes))
        return settings


def find_deployments(
    clients_for: Callable[[str], Any], stack_name: str | None, regions: Iterable[str]
) -> Deployments:
    """Look for the stack in each region (side by side); a region without it is no error here."""

    def look(region: str) -> DeployedStack | None:
        try:
            return find_stack(clients_for(region), stack_name, region)
        except StackNotFound:
            return None

    regions = list(dict.fromkeys(regions))
    found = in_parallel(look, regions)
    return Deployments(stack_name, {stack.region: stack for stack in found if stack is not None})


def find_stack(cloudformation, stack_name: str | None, region: str) -> DeployedStack:
    """The stack named `stack_name`, or, with None, the one stack of the region that declares
    itself eks-audit's home stack (a stack from before the declaration: by its usual name)."""
    if stack_name is None:
        return discover_stack(cloudformation, region)
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
    return deployed(stacks[0], region)


def deployed(stack: dict[str, Any], region: str) -> DeployedStack:
    return DeployedStack(
        name=stack["StackName"],
        region=region,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
    )


def discover_stack(cloudformation, region: str) -> DeployedStack:
    """The region's stack with the MARKER output: one, or AmbiguousStacks naming them, or the stack
    named DEFAULT_STACK_NAME (deployed before stacks declared themselves), or StackNotFound."""
    marked = [
        deployed(stack, region)
        for page in cloudformation.get_paginator("describe_stacks").paginate()
        for stack in page.get("Stacks", [])
        if not stack.get("StackStatus", "").startswith("DELETE")
        and any(output.get("OutputKey") == MARKER for output in stack.get("Outputs", []))
    ]
    if len(marked) > 1:
        raise AmbiguousStacks(region, [stack.name for stack in marked])
    if marked:
        return marked[0]
    try:
        return find_stack(cloudformation, DEFAULT_STACK_NAME, region)
    except StackNotFound:
        raise StackNotFound(None, region) from None


def placeholder_settings(region: str) -> Settings:
    """For a dry run before the stack exists: the plan is the same, only the destination is unknown."""
    return Settings(
        firehose_arn=PLACEHOLDER_ARN.format(region=region),
        logs_role_arn="arn:aws:iam::000000000000:role/not-deployed",
    )
