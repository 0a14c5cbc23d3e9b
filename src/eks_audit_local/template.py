"""template.yaml, read and evaluated: the single source of truth for the local cloud and the tests.

A small evaluator of the intrinsic functions this template uses (Ref, Fn::Sub, Fn::GetAtt, Fn::If,
Fn::Select, Fn::Split, Fn::Join, Fn::Equals, Fn::Not, Fn::And, Fn::Or, AWS::NoValue) against parameters and the names of
resources as they were created. Written by hand: cfn-lint's decoder keeps intrinsics unevaluated
and moto's CloudFormation skips Firehose, subscription filters and several policies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SPOKE_TEMPLATE = TEMPLATE.with_name("spoke.yaml")
NO_VALUE = object()
_SUB_RE = re.compile(r"\$\{([^}!][^}]*)\}")


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)


@dataclass
class Context:
    """What intrinsics resolve against: parameters, pseudo parameters, created resources."""

    template: Mapping[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "123456789012"
    stack_id: str = (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/eks-audit/00000000-0000-4000-8000-000000000000"
    )
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) -> value

    def __post_init__(self) -> None:
        for name, spec in self.template.get("Parameters", {}).items():
            if name not in self.parameters and "Default" in spec:
                self.parameters[name] = str(spec["Default"])

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackId": self.stack_id,
            "AWS::StackName": self.stack_id.split("/")[1],
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            kind = self.template.get("Parameters", {}).get(name, {}).get("Type")
            if kind == "CommaDelimitedList":  # a list, as CloudFormation gives it
                return [item.strip() for item in self.parameters[name].split(",")]
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"Ref {name}: not a parameter or a created resource")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (self.resolve(i) for i in node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def sub(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if variables and name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return str(self.attributes[(logical, attribute)])
            return str(self.ref(name))

        return _SUB_RE.sub(replace, text)


def _sub(ctx: Context, value: Any) -> str:
    if isinstance(value, list):
        text, variables = value
        return ctx.sub(text, {k: ctx.resolve(v) for k, v in variables.items()})
    return ctx.sub(value)


def _get_att(ctx: Context, value: Any) -> str:
    logical, attribute = value
    return ctx.attributes[(logical, attribute)]


_FUNCTIONS = {
    "Ref": lambda ctx, v: ctx.ref(v),
    "Fn::Sub": _sub,
    "Fn::GetAtt": _get_att,
    "Fn::If": lambda ctx, v: ctx.resolve(v[1] if ctx.condition(v[0]) else v[2]),
    "Fn::Equals": lambda ctx, v: ctx.resolve(v[0]) == ctx.resolve(v[1]),
    "Fn::Not": lambda ctx, v: not ctx.resolve(v[0]),
    "Fn::And": lambda ctx, v: all(ctx.resolve(item) for item in v),
    "Fn::Or": lambda ctx, v: any(ctx.resolve(item) for item in v),
    "Fn::Select": lambda ctx, v: ctx.resolve(v[1])[int(v[0])],
    "Fn::Split": lambda ctx, v: str(ctx.resolve(v[1])).split(v[0]),
    "Fn::Join": lambda ctx, v: v[0].join(str(item) for item in ctx.resolve(v[1])),
    "Condition": lambda ctx, v: ctx.condition(v),
    "Fn::Condition": lambda ctx, v: ctx.condition(v),  # `!Condition X` as this loader reads it
}


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {name: spec for name, spec in template["Resources"].items() if spec["Type"] == kind}
