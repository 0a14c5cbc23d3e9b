"""The least-privilege proof's machinery (tests only).

- A recorder of every AWS call each function makes: a botocore event hook on every client, and the
  function a call belongs to from a context variable set while that function's handler runs (in the
  unit, component and end-to-end flows alike: tests.conftest.load_handler and the local cloud's
  controller both load the handlers through `attributed`).
- The calls turned into IAM requests: action, resource ARNs (the Service Authorization Reference's
  forms) and the request's condition keys.
- An evaluator of IAM policy statements: explicit Deny wins, then an Allow whose Action, Resource and
  Condition all match. Written by hand: no maintained Python package evaluates identity policies
  offline with conditions (policyuniverse parses but does not evaluate conditions).
"""

from __future__ import annotations

import contextvars
import fnmatch
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

CURRENT_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)
# functions/<folder> -> the template's logical id
FUNCTIONS = {
    "reconciler": "ReconcilerFunction",
    "sweeper": "SweeperFunction",
    "regions": "RegionsFunction",
    "stackset_probe": "StackSetProbeFunction",
    "forwarder": "ForwarderFunction",
}
# The settings a call is judged with: which queue is the reconcile queue, which role the logs role
SETTINGS = ("RECONCILE_QUEUE_URL", "LOGS_ROLE_ARN", "SPOKE_NAME_PREFIX", "AWS_REGION", "TOPIC_ARN")


@dataclass(frozen=True)
class Call:
    function: str
    service: str  # the client's endpoint prefix (eks, logs, sqs, ec2, cloudformation, ...)
    operation: str
    params: Mapping[str, Any]
    region: str
    settings: Mapping[str, str]


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    installed: bool = False

    def record(self, client: Any, operation: str, params: Mapping[str, Any]) -> None:
        function = CURRENT_FUNCTION.get()
        if function is None:
            return
        self.calls.append(
            Call(
                function,
                client.meta.service_model.endpoint_prefix,
                operation,
                dict(params),
                client.meta.region_name,
                {key: os.environ.get(key, "") for key in SETTINGS},
            )
        )

    def install(self) -> None:
        """Every botocore client created from now on reports its calls here."""
        if self.installed:
            return
        self.installed = True
        import botocore.session

        original = botocore.session.Session.create_client
        recorder = self

        @functools.wraps(original)
        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)

            def before_parameter_build(params, model, **_):
                recorder.record(client, model.name, params)

            client.meta.events.register("before-parameter-build.*.*", before_parameter_build)
            return client

        botocore.session.Session.create_client = create_client


RECORDER = Recorder()


def dump_calls(calls: Iterable[Call], path: str) -> None:
    """One JSON line per call (a pytest-xdist worker's, for the proof run over every worker's)."""
    import json

    with open(path, "w") as out:
        for call in calls:
            out.write(json.dumps(asdict(call), default=str) + "\n")


def load_calls(paths: Iterable[str]) -> list[Call]:
    import json

    calls = []
    for path in paths:
        with open(path) as lines:
            calls += [Call(**json.loads(line)) for line in lines if line.strip()]
    return calls


def attributed(folder: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler`, its AWS calls recorded as the function of functions/<folder>."""
    function = FUNCTIONS[folder]

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = CURRENT_FUNCTION.set(function)
        try:
            return handler(*args, **kwargs)
        finally:
            CURRENT_FUNCTION.reset(token)

    return run


# -- calls -> IAM requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str | list[str]]
    why: str  # the call it comes from

    def with_context(self, **extra: str) -> Request:
        return Request(self.action, self.resource, {**self.context, **extra}, self.why)


@dataclass(frozen=True)
class Names:
    """The evaluation's names for the stack's own resources (what CloudFormation would have made)."""

    account: str
    reconcile_queue_arn: str
    logs_role_arn: str
    spoke_name_prefix: str
    topic_arn: str


# API operations whose IAM action has another name
IAM_ACTION = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage"}


def requests_of(call: Call, names: Names) -> list[Request]:
    """The IAM requests one call makes (a PutSubscriptionFilter also passes its role)."""
    region, account, p = call.region, names.account, call.params
    action = IAM_ACTION.get(f"{call.service}:{call.operation}", f"{call.service}:{call.operation}")
    base = {"aws:RequestedRegion": region}
    why = f"{call.function} {call.service}:{call.operation}"

    def one(resource: str, **context: Any) -> Request:
        return Request(action, resource, {**base, **context}, why)

    if call.service == "eks":
        if call.operation == "ListClusters":
            return [one("*")]
        resource = f"arn:aws:eks:{region}:{account}:cluster/{p['name']}"
        if call.operation == "UpdateClusterConfig":
            # the condition keys of what the request sets: eks:loggingType/<type> per named type
            keys = {
                f"eks:loggingType/{kind}": str(entry.get("enabled", False)).lower()
                for entry in p.get("logging", {}).get("clusterLogging", [])
                for kind in entry.get("types", [])
            }
            return [one(resource, **keys)]
        return [one(resource)]
    if call.service == "logs":
        group = f"arn:aws:logs:{region}:{account}:log-group:{p['logGroupName']}"
        found = [one(group), one(f"{group}:*")]  # both forms the ARN of a log group takes
        if call.operation == "PutSubscriptionFilter" and p.get("roleArn"):
            found += [
                Request("iam:PassRole", normalized_role(p["roleArn"], call, names), {**base, **passed}, why)
                for passed in (
                    {"iam:PassedToService": "logs.amazonaws.com"},
                    {"iam:PassedToService": f"logs.{region}.amazonaws.com"},
                )
            ]
        return found
    if call.service == "sqs":
        url = p["QueueUrl"]
        arn = names.reconcile_queue_arn if url == call.settings["RECONCILE_QUEUE_URL"] else queue_arn(url)
        return [one(arn)]
    if call.service == "sns" and call.operation == "Publish":
        topic = names.topic_arn if p["TopicArn"] == call.settings["TOPIC_ARN"] else p["TopicArn"]
        return [one(topic)]
    if call.service == "ec2" and call.operation == "DescribeRegions":
        return [one("*")]
    if call.service == "servicequotas":  # the quotas read: no resource type (ratelimit.py)
        return [one("*")]
    if call.service == "cloudformation":  # the probe's calls on its StackSet's instances
        stack_set = f"arn:aws:cloudformation:{region}:{account}:stackset/{p['StackSetName']}:00000000-0000-4000-8000-000000000000"
        return [one(stack_set)]
    raise AssertionError(f"{why}: no IAM mapping for this call yet")


def normalized_role(arn: str, call: Call, names: Names) -> str:
    if arn == call.settings["LOGS_ROLE_ARN"]:
        return names.logs_role_arn
    prefix = call.settings["SPOKE_NAME_PREFIX"]
    name = arn.rsplit("/", 1)[1]
    if prefix and name.startswith(f"{prefix}-"):
        return f"arn:aws:iam::{names.account}:role/{names.spoke_name_prefix}{name[len(prefix) :]}"
    return arn


def queue_arn(url: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> of a queue URL (any host form)."""
    parts = url.rstrip("/").split("/")
    account, name = parts[-2], parts[-1]
    host = parts[2]
    region = next((piece for piece in host.split(".") if piece.count("-") >= 2), "us-east-1")
    return f"arn:aws:sqs:{region}:{account}:{name}"


# -- the evaluator --------------------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    if case_sensitive:
        return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))
    return fnmatch.fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringLike": lambda expected, actual: _matches(expected, actual),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: _matches(expected, actual),
    "Bool": lambda expected, actual: str(actual).lower() == str(expected).lower(),
}


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    """Every operator and key must hold (AND); any of a key's values may match (OR). A key absent
    from the request fails every operator but Null (IAM's rule for single-valued keys)."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            present = key in context
            if operator == "Null":
                if (str(expected).lower() == "true" and present) or (
                    str(expected).lower() == "false" and not present
                ):
                    return False
                continue
            test = _OPERATORS.get(operator)
            if test is None:
                raise AssertionError(f"the evaluator does not know the condition operator {operator}")
            if not present:
                return False
            actuals = _listed(context[key])
            if not any(test(str(e), str(a)) for e in _listed(expected) for a in actuals):
                return False
    return True


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    actions = _listed(statement.get("Action"))
    if not any(_matches(a, request.action, case_sensitive=False) for a in actions):
        return False
    resources = _listed(statement.get("Resource"))
    if not any(_matches(r, request.resource) for r in resources):
        return False
    return condition_holds(statement.get("Condition", {}), request.context)


def allowed(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    statements = list(statements)
    if any(s["Effect"] == "Deny" and statement_applies(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and statement_applies(s, request) for s in statements)


# What the Lambda service itself calls with a function's role (no code of ours makes these calls):
PLATFORM_CALLS = {
    # lambda/latest/dg/monitoring-cloudwatchlogs.html (the function's log group, LoggingConfig)
    "logs": ("logs:CreateLogStream", "logs:PutLogEvents"),
    # lambda/latest/dg/services-xray.html (active tracing)
    "xray": ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
    # lambda/latest/dg/with-sqs.html ("Execution role permissions" for an SQS event source)
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
}
