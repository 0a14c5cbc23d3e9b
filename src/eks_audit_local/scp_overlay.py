"""Service control policies that deny regions, enforced on the calls of an organization's member
accounts as AWS enforces them; moto 5.2.5 stores SCPs and attaches them but enforces nothing.

What is enforced (docs/local-cloud.md, "Organizations"):
- every SCP attached to the calling account, to each OU above it and to the root applies
  (orgs_manage_policies_scps_evaluation.html: "the policies attached at every level");
- a Deny statement refuses a call when its Action (or, with NotAction, the action's absence from it)
  matches `service:Operation`, wildcards allowed, and its Condition holds. The conditions read are
  the ones AWS's and Control Tower's region-deny examples use: StringNotEquals (and
  StringNotEqualsIgnoreCase) on `aws:RequestedRegion`; ArnNotLike / ArnNotEquals on
  `aws:PrincipalARN` hold here (the local cloud's callers are never the exempted admin roles). A
  statement with any other condition is not enforced: the local cloud never refuses what AWS might
  accept (orgs_manage_policies_scps_examples_general.html, "Deny access to AWS based on the requested
  AWS Region"; controltower/latest/userguide/primary-region-deny-policy.html);
- the management account is never affected ("SCPs don't affect users or roles in the management
  account", orgs_manage_policies_scps.html);
- the refusal is AccessDenied in IAM's words: "User: ... is not authorized to perform: <action>
  with an explicit deny in a service control policy" (reference_policies_access-denied-messages).
Allow statements are not evaluated (the default FullAWSAccess allows everything).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

MANAGEMENT: dict[str, str | None] = {"account": None}
SCP = "SERVICE_CONTROL_POLICY"


def configure(management_account: str | None) -> None:
    MANAGEMENT["account"] = management_account


def region_deny_policy(allowed: tuple[str, ...]) -> str:
    """The shape of AWS's example SCP: deny everything outside `allowed` but global services."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyAllOutsideAllowedRegions",
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "organizations:*", "route53:*", "sts:*", "support:*", "budgets:*"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(allowed)}},
                }
            ],
        }
    )


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def _condition_holds(condition: dict[str, Any], region: str) -> bool | None:
    """True or False for the conditions read here; None for any other (then not enforced)."""
    for operator, keys in condition.items():
        for key, values in keys.items():
            key = key.lower()
            if key == "aws:requestedregion" and operator in ("StringNotEquals", "StringNotEqualsIgnoreCase"):
                if region.lower() in (v.lower() for v in _listed(values)):
                    return False
            elif key == "aws:principalarn" and operator in ("ArnNotLike", "ArnNotEquals"):
                continue
            else:
                return None
    return True


def _deny_applies(statement: dict[str, Any], action: str, region: str) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    if "NotAction" in statement:
        if _matches(_listed(statement["NotAction"]), action):
            return False
    elif not _matches(_listed(statement.get("Action")), action):
        return False
    return _condition_holds(statement.get("Condition") or {}, region) is True


def _policies(account: str) -> list[Any]:
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT["account"]]["aws"]
    node: Any = next((a for a in getattr(backend, "accounts", []) if a.id == account), None)
    found = []
    while node is not None:
        found += [p for p in getattr(node, "attached_policies", []) if p.type == SCP]
        parent = getattr(node, "parent_id", None)
        node = next((ou for ou in backend.ou if ou.id == parent), None) if parent else None
    return found


def refusal(account: str, region: str, action: str) -> str | None:
    """AWS's AccessDenied message when an SCP denies `action` in `region` to `account`, or None."""
    management = MANAGEMENT["account"]
    if management is None or account == management:
        return None
    for policy in _policies(account):
        try:
            document = json.loads(policy.content)
        except (TypeError, ValueError):
            continue
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if _deny_applies(statement, action, region):
                return (
                    f"User: arn:aws:iam::{account}:user/local is not authorized to perform: {action} "
                    "with an explicit deny in a service control policy"
                )
    return None
