"""What moto lacks of AWS's own EKS audit log features, enough to see eks-audit coexist with them:
CloudWatch telemetry enablement rules (observabilityadmin) and Amazon Security Lake's log sources
(securitylake). The shapes follow botocore's service models (API version 2018-05-10 of each) and the
API references' operations:

- observabilityadmin (rest-json, POST /<Operation>): Create/Get/List/DeleteTelemetryRule and their
  ...ForOrganization forms; a rule with `Regions` is replicated to them ("the rule is created in the
  home region and automatically replicated to all listed regions": TelemetryRule.Regions), its
  copies answering `IsReplicated`; a name already used is ConflictException, an unknown one
  ResourceNotFoundException.
- securitylake (rest-json): CreateDataLake (POST /v1/datalake), ListDataLakes (GET /v1/datalakes,
  "to determine whether Security Lake is enabled for a Region"), Create/DeleteAwsLogSource
  (POST /v1/datalake/logsources/aws[/delete]) and ListLogSources (POST /v1/datalake/logsources/list).

Not emulated: a rule's effect on clusters (turning the audit log type on); what ListLogSources
answers in a region without a data lake is not documented, and here it answers no sources.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

# (account, region) -> rule name -> what GetTelemetryRule answers
RULES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
ORGANIZATION_RULES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
LAKES: set[tuple[str, str]] = set()  # (account, region) with a data lake
SOURCES: dict[tuple[str, str], dict[str, str]] = {}  # (account, region) -> source name -> version

Answer = tuple[int, dict[str, Any]]


def reset() -> None:
    RULES.clear()
    ORGANIZATION_RULES.clear()
    LAKES.clear()
    SOURCES.clear()


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"__type": code, "message": message, "Message": message}


def answer(
    service: str, method: str, path: str, query: str, body: bytes, account: str, region: str
) -> Answer | None:
    """The response to a call of `service`, or None when this overlay does not serve it."""
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        return _error(400, "ValidationException", "the body is not JSON")
    if service == "observabilityadmin":
        return _telemetry(path.strip("/"), request, account, region)
    if service == "securitylake":
        return _lake(method, path.rstrip("/"), parse_qs(query), request, account, region)
    return None


# -- CloudWatch telemetry enablement rules ------------------------------------------------------------


def _telemetry(operation: str, request: dict[str, Any], account: str, region: str) -> Answer | None:
    store = ORGANIZATION_RULES if operation.endswith("ForOrganization") else RULES
    kind = operation.removesuffix("ForOrganization")
    handlers: dict[str, Callable[[], Answer]] = {
        "CreateTelemetryRule": lambda: _create_rule(store, request, account, region),
        "ListTelemetryRules": lambda: _list_rules(store, request, account, region),
        "GetTelemetryRule": lambda: _get_rule(store, request, account, region),
        "DeleteTelemetryRule": lambda: _delete_rule(store, request, account, region),
    }
    handler = handlers.get(kind)
    return handler() if handler else None


def _rule_arn(account: str, region: str, name: str, organization: bool) -> str:
    kind = "organization-telemetry-rule" if organization else "telemetry-rule"
    return f"arn:aws:observabilityadmin:{region}:{account}:{kind}/{name}"


def _create_rule(store, request: dict[str, Any], account: str, region: str) -> Answer:
    name, rule = request.get("RuleName"), request.get("Rule")
    if not name or not isinstance(rule, dict) or not rule.get("TelemetryType"):
        return _error(400, "ValidationException", "RuleName and Rule.TelemetryType are required")
    if name in store.get((account, region), {}):
        return _error(409, "ConflictException", f"a telemetry rule named {name} exists")
    now = int(time.time() * 1000)
    arn = _rule_arn(account, region, name, store is ORGANIZATION_RULES)
    for where in dict.fromkeys([region, *rule.get("Regions", [])]):
        store.setdefault((account, where), {})[name] = {
            "RuleName": name,
            "RuleArn": arn,
            "CreatedTimeStamp": now,
            "LastUpdateTimeStamp": now,
            "TelemetryRule": rule,
            "HomeRegion": region,
            "IsReplicated": where != region,
        }
    return 200, {"RuleArn": arn}


def _list_rules(store, request: dict[str, Any], account: str, region: str) -> Answer:
    prefix = request.get("RuleNamePrefix", "")
    summaries = [
        {
            "RuleName": found["RuleName"],
            "RuleArn": found["RuleArn"],
            "CreatedTimeStamp": found["CreatedTimeStamp"],
            "LastUpdateTimeStamp": found["LastUpdateTimeStamp"],
            "ResourceType": found["TelemetryRule"].get("ResourceType"),
            "TelemetryType": found["TelemetryRule"].get("TelemetryType"),
            "TelemetrySourceTypes": found["TelemetryRule"].get("TelemetrySourceTypes", []),
        }
        for name, found in sorted(store.get((account, region), {}).items())
        if name.startswith(prefix)
    ]
    return 200, {"TelemetryRuleSummaries": summaries}


def _named(store, request: dict[str, Any], account: str, region: str) -> dict[str, Any] | None:
    identifier = request.get("RuleIdentifier", "")
    rules = store.get((account, region), {})
    return rules.get(identifier) or next((r for r in rules.values() if r["RuleArn"] == identifier), None)


def _get_rule(store, request: dict[str, Any], account: str, region: str) -> Answer:
    found = _named(store, request, account, region)
    if found is None:
        return _error(404, "ResourceNotFoundException", f"no telemetry rule {request.get('RuleIdentifier')}")
    return 200, found


def _delete_rule(store, request: dict[str, Any], account: str, region: str) -> Answer:
    found = _named(store, request, account, region)
    if found is None:
        return _error(404, "ResourceNotFoundException", f"no telemetry rule {request.get('RuleIdentifier')}")
    if found["IsReplicated"]:
        return _error(400, "ValidationException", "a replicated rule is deleted in its home region")
    for (owner, _where), rules in store.items():
        if owner == account and rules.get(found["RuleName"], {}).get("RuleArn") == found["RuleArn"]:
            del rules[found["RuleName"]]
    return 200, {}


# -- Amazon Security Lake ------------------------------------------------------------------------------


def _lake(
    method: str, path: str, query: dict[str, list[str]], request: dict[str, Any], account: str, region: str
) -> Answer | None:
    if (method, path) == ("POST", "/v1/datalake"):
        for configuration in request.get("configurations", []):
            LAKES.add((account, configuration.get("region", region)))
        return 200, {
            "dataLakes": _lakes(account, [c.get("region", region) for c in request.get("configurations", [])])
        }
    if (method, path) == ("GET", "/v1/datalakes"):
        return 200, {"dataLakes": _lakes(account, query.get("regions") or [region])}
    if (method, path) in (
        ("POST", "/v1/datalake/logsources/aws"),
        ("POST", "/v1/datalake/logsources/aws/delete"),
    ):
        adding = not path.endswith("/delete")
        for source in request.get("sources", []):
            for owner in source.get("accounts") or [account]:
                for where in source.get("regions", []):
                    sources = SOURCES.setdefault((owner, where), {})
                    if adding:
                        sources[source["sourceName"]] = source.get("sourceVersion", "2.0")
                    else:
                        sources.pop(source["sourceName"], None)
        return 200, {"failed": []}
    if (method, path) == ("POST", "/v1/datalake/logsources/list"):
        accounts = request.get("accounts") or [account]
        regions = request.get("regions") or [region]
        listed = [
            {
                "account": owner,
                "region": where,
                "sources": [
                    {"awsLogSource": {"sourceName": name, "sourceVersion": version}}
                    for name, version in sorted(SOURCES.get((owner, where), {}).items())
                ],
            }
            for owner in accounts
            for where in regions
            if SOURCES.get((owner, where))
        ]
        return 200, {"sources": listed}
    return None


def _lakes(account: str, regions: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "dataLakeArn": f"arn:aws:securitylake:{where}:{account}:data-lake/default",
            "region": where,
            "createStatus": "COMPLETED",
        }
        for where in regions
        if (account, where) in LAKES
    ]
