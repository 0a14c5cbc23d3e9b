"""The StackSet roles probe: retries only IAM's propagation answers, region by region, with backoff
and a deadline (fake clock), cleans up its instances after itself, and never creates, changes or
deletes a StackSet (CloudFormation owns the probe set and its fixed template)."""

from __future__ import annotations

import pytest

from eks_audit.stackset_probe import Probe, ProbeFailed
from tests.helpers import SleepingClock

TRUST = (
    "Account 123456789012 should have 'eks-audit-1a2b3c4d-spokes-exec' role with trust relationship "
    "to Role 'eks-audit-StackSetAdministrationRole-X'."
)


class _Exceptions:
    class NameAlreadyExistsException(Exception):
        pass

    class StackSetNotFoundException(Exception):
        pass


class FakeCloudFormation:
    """Answers each CreateStackInstances with the next scripted {region: reason-or-None}."""

    exceptions = _Exceptions

    def __init__(self, script: list[dict[str, str | None]], set_exists: bool = True) -> None:
        self.script = script
        self.set_exists = set_exists
        self.calls: list[tuple[str, dict]] = []
        self.instances: set[str] = set()
        self.results: dict[str, list[dict]] = {}

    def create_stack_set(self, **kwargs):
        raise AssertionError("the probe created a StackSet: it may choose no template")

    def update_stack_set(self, **kwargs):
        raise AssertionError("the probe changed a StackSet: it may choose no template")

    def create_stack_instances(self, **kwargs):
        self.calls.append(("create_stack_instances", kwargs))
        answers = self.script.pop(0)
        operation = f"op-{len(self.calls)}"
        self.results[operation] = [
            {
                "Region": r,
                "Status": "FAILED" if answers.get(r) else "SUCCEEDED",
                "StatusReason": answers.get(r) or "",
            }
            for r in kwargs["Regions"]
        ]
        self.instances |= set(kwargs["Regions"])
        return {"OperationId": operation}

    def delete_stack_instances(self, **kwargs):
        self.calls.append(("delete_stack_instances", kwargs))
        self.instances -= set(kwargs["Regions"])
        operation = f"op-{len(self.calls)}"
        self.results[operation] = [{"Region": r, "Status": "SUCCEEDED"} for r in kwargs["Regions"]]
        return {"OperationId": operation}

    def delete_stack_set(self, **kwargs):
        raise AssertionError("the probe deleted its StackSet: CloudFormation owns it")

    def list_stack_instances(self, **kwargs):
        if not self.set_exists:
            raise self.exceptions.StackSetNotFoundException()
        return {"Summaries": [{"Region": r} for r in sorted(self.instances)]}

    def describe_stack_set_operation(self, StackSetName, OperationId):
        return {"StackSetOperation": {"Status": "SUCCEEDED"}}

    def list_stack_set_operation_results(self, StackSetName, OperationId):
        return {"Summaries": self.results[OperationId]}

    def regions_asked(self) -> list[list[str]]:
        return [kwargs["Regions"] for name, kwargs in self.calls if name == "create_stack_instances"]


def probe(cloudformation, clock) -> Probe:
    return Probe(
        cloudformation,
        set_name="eks-audit-iam-probe",
        account="123456789012",
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_region_that_meets_the_propagation_delay_is_tried_again_alone():
    clock = SleepingClock()
    cloudformation = FakeCloudFormation([{"eu-west-1": TRUST}, {}])
    subject = probe(cloudformation, clock)
    subject.prove(["eu-west-1", "ap-east-1"], deadline=600)
    assert cloudformation.regions_asked() == [["ap-east-1", "eu-west-1"], ["eu-west-1"]]
    assert subject.attempts == {"ap-east-1": 1, "eu-west-1": 2}
    assert clock.slept == [10.0]


def test_the_backoff_doubles_up_to_its_cap():
    clock = SleepingClock()
    cloudformation = FakeCloudFormation([{"eu-west-1": TRUST}] * 5 + [{}])
    probe(cloudformation, clock).prove(["eu-west-1"], deadline=10_000)
    assert clock.slept == [10.0, 20.0, 40.0, 60.0, 60.0]


def test_any_other_answer_fails_at_once_with_awss_words():
    clock = SleepingClock()
    refused = 'Resource handler returned message: "Access Denied (Service: S3, Status Code: 403)"'
    cloudformation = FakeCloudFormation([{"eu-west-1": refused}])
    with pytest.raises(ProbeFailed, match=r"eu-west-1: Resource handler returned message"):
        probe(cloudformation, clock).prove(["eu-west-1"], deadline=600)
    assert clock.slept == []


def test_the_deadline_ends_the_retries_with_the_last_answer():
    clock = SleepingClock()
    cloudformation = FakeCloudFormation([{"eu-west-1": TRUST}] * 100)
    with pytest.raises(ProbeFailed, match=r"time ran out: eu-west-1: Account 123456789012 should have"):
        probe(cloudformation, clock).prove(["eu-west-1"], deadline=100)
    assert clock.now <= 100


def test_removal_deletes_the_instances_and_leaves_the_set_to_cloudformation():
    clock = SleepingClock()
    cloudformation = FakeCloudFormation([{}])
    subject = probe(cloudformation, clock)
    subject.prove(["eu-west-1"], deadline=600)
    assert cloudformation.instances == {"eu-west-1"}
    subject.remove(deadline=600)
    assert cloudformation.set_exists and not cloudformation.instances
    subject.remove(deadline=600)  # a second removal (the stack's Delete) finds nothing and is fine


def test_removal_after_the_set_is_gone_is_fine():
    cloudformation = FakeCloudFormation([], set_exists=False)
    probe(cloudformation, SleepingClock()).remove(deadline=600)
