"""What CloudFormation needs to be allowed to create, read, update and delete a template's resources,
read from the CloudFormation registry schemas that cfn-lint ships (each resource type's
`handlers.<create|read|update|delete>.permissions`: the calls its handlers make, create handlers
usually ending with their read handler's). AWS's data, not a list of ours: a new resource type in a
template, or a schema update that changes a handler, changes the answer.

Used by the local cloud (a StackSet instance whose execution role lacks one fails, naming it) and by
the template tests. Only the Action of each statement is matched (with IAM's wildcards, case-
insensitively); resources and conditions are the template tests' business.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

HANDLERS = ("create", "read", "update", "delete")


def handler_permissions(resource_type: str, region: str = "us-east-1") -> dict[str, list[str]]:
    """handler -> the permissions the registry lists for it."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    handlers = schema.get("handlers", {})
    return {handler: list(handlers.get(handler, {}).get("permissions", [])) for handler in HANDLERS}


def required_permissions(template: Mapping[str, Any], region: str = "us-east-1") -> dict[str, list[str]]:
    """action -> why ("AWS::Events::Rule create", ...) for every resource type of `template`."""
    needed: dict[str, list[str]] = {}
    for resource_type in sorted({spec["Type"] for spec in template["Resources"].values()}):
        for handler, permissions in handler_permissions(resource_type, region).items():
            for action in permissions:
                needed.setdefault(action, []).append(f"{resource_type} {handler}")
    return needed


def as_list(value: Any) -> list[Any]:
    """An IAM policy field (a string or a list of them, or absent) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, (str, dict)) else list(value)


def allows(statements: Iterable[Mapping[str, Any]], action: str) -> bool:
    """Whether some Allow statement names `action` and no Deny statement does."""
    effects = {
        statement.get("Effect")
        for statement in statements
        if any(
            fnmatch.fnmatchcase(action.lower(), pattern.lower())
            for pattern in as_list(statement.get("Action"))
        )
    }
    return "Allow" in effects and "Deny" not in effects


def missing_permissions(
    statements: Iterable[Mapping[str, Any]], template: Mapping[str, Any], region: str = "us-east-1"
) -> dict[str, list[str]]:
    """The handler permissions of `template`'s resource types that `statements` do not allow."""
    statements = list(statements)
    return {
        action: why
        for action, why in required_permissions(template, region).items()
        if not allows(statements, action)
    }
