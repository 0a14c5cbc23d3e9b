"""Proof that a self-managed StackSet's roles are usable before the real StackSet uses them.

IAM is eventually consistent: a StackSet whose administration and execution roles were created
moments before by the same stack can fail with "Account ... should have '<execution role>' role
with trust relationship to Role '<administration role>'" (cdklabs/cdk-stacksets#438 and #61;
terraform-provider-aws retries exactly these answers, #15165/#15173). Ordering alone (DependsOn the
roles and their policies) does not prevent it, and no IAM call tells whether a trust has propagated.
So the probe does what the StackSet will do, on a probe StackSet with the same two roles and a
template that creates nothing (template.yaml's ProbeStackSet, made by CloudFormation): it creates
instances in the target regions, retries the regions that failed with a propagation answer (backing
off, up to a deadline), fails at once on any other answer, then deletes the instances. It never
creates or changes a StackSet: its role can deploy nothing but that set's fixed template.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

# The answers IAM propagation gives (the threads above): worth another attempt, nothing else is.
PROPAGATION_ANSWERS = ("trust relationship", "is not authorized to perform: sts:AssumeRole")
DONE = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
PARALLEL = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 100,
    "FailureTolerancePercentage": 100,
}


class ProbeFailed(RuntimeError):
    """The roles are not usable: the text says where and AWS's answer."""


@dataclass
class Probe:
    cloudformation: Any
    set_name: str
    account: str
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 5.0
    first_backoff: float = 10.0
    max_backoff: float = 60.0
    attempts: dict[str, int] = field(default_factory=dict)  # region -> instance creations tried

    def prove(self, regions: Iterable[str], deadline: float) -> None:
        """Return once a stack instance was created in every region; ProbeFailed otherwise."""
        pending = sorted(set(regions))
        backoff = self.first_backoff
        while pending:
            for region in pending:
                self.attempts[region] = self.attempts.get(region, 0) + 1
            results = self._run(partial(self._create_instances, pending), deadline)
            failed = {r: reason for r, (status, reason) in results.items() if status != "SUCCEEDED"}
            permanent = {r: reason for r, reason in failed.items() if not is_propagation(reason)}
            if permanent:
                raise ProbeFailed(describe(permanent))
            pending = sorted(failed)
            if pending and self.clock() + backoff > deadline:
                raise ProbeFailed(f"roles still not usable when the time ran out: {describe(failed)}")
            if pending:
                self.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def remove(self, deadline: float) -> None:
        """Delete the probe's instances (CloudFormation deletes the set); a set already gone is fine."""
        try:
            instances = self.cloudformation.list_stack_instances(StackSetName=self.set_name)["Summaries"]
            regions = sorted({instance["Region"] for instance in instances})
            if regions:
                self._run(
                    lambda: self.cloudformation.delete_stack_instances(
                        StackSetName=self.set_name,
                        Accounts=[self.account],
                        Regions=regions,
                        RetainStacks=False,
                        OperationPreferences=PARALLEL,
                    ),
                    deadline,
                )
        except self.cloudformation.exceptions.StackSetNotFoundException:
            pass

    def _create_instances(self, regions: list[str]) -> dict[str, Any]:
        return self.cloudformation.create_stack_instances(
            StackSetName=self.set_name,
            Accounts=[self.account],
            Regions=regions,
            OperationPreferences=PARALLEL,
        )

    def _run(self, start: Callable[[], dict[str, Any]], deadline: float) -> dict[str, tuple[str, str]]:
        """Start an operation, wait for it, return region -> (status, reason)."""
        operation = start()["OperationId"]
        while True:
            described = self.cloudformation.describe_stack_set_operation(
                StackSetName=self.set_name, OperationId=operation
            )["StackSetOperation"]
            if described["Status"] in DONE:
                break
            if self.clock() + self.poll_seconds > deadline:
                raise ProbeFailed(f"operation {operation} still {described['Status']} when the time ran out")
            self.sleep(self.poll_seconds)
        summaries = self.cloudformation.list_stack_set_operation_results(
            StackSetName=self.set_name, OperationId=operation
        )["Summaries"]
        return {s["Region"]: (s["Status"], s.get("StatusReason", "")) for s in summaries}


def is_propagation(reason: str) -> bool:
    return any(answer in reason for answer in PROPAGATION_ANSWERS)


def describe(failures: dict[str, str]) -> str:
    return "; ".join(f"{region}: {reason or 'failed'}" for region, reason in sorted(failures.items()))
