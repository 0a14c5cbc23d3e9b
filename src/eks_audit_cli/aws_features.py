"""AWS's own features that touch EKS audit logs, recognised so that eks-audit coexists with them:

- CloudWatch telemetry enablement rules (observabilityadmin): a rule of ResourceType
  `AWS::EKS::Cluster` whose TelemetrySourceTypes hold `EKS_AUDIT_LOGS` turns the `audit` log type on
  for matching clusters (its service role may call eks:UpdateClusterConfig with
  eks:loggingType/audit = true: the AWS managed policy
  AWSObservabilityAdminTelemetryEnablementServiceRolePolicy; telemetry-config-rules). It ships
  nothing anywhere: eks-audit's filter is still what delivers, and enabling twice is harmless.
- Amazon Security Lake's `EKS_AUDIT` source collects the same audit log "through an independent and
  duplicated stream of events" into its own lake (security-lake/latest/userguide/internal-sources):
  the same log collected, and paid, twice.

Each finding is one line; an API that is unavailable or denied is said in one line too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import DENIED

EKS_RESOURCE = "AWS::EKS::Cluster"
AUDIT_TELEMETRY = "EKS_AUDIT_LOGS"
LAKE_SOURCE = "EKS_AUDIT"


@dataclass(frozen=True)
class Finding:
    feature: str  # "telemetry rule", "Security Lake"
    region: str
    found: bool | None  # None: could not be read (the reason in `text`)
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unreadable(feature: str, region: str, action: str, exc: Exception) -> Finding:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        reason = f"{action} denied" if code in DENIED else f"{action}: {code}"
    else:
        reason = f"{action}: {exc}"
    return Finding(feature, region, None, f"{feature}s not read in {region}: {reason}")


COEXIST = (
    "it turns the audit log type on and ships nothing; eks-audit still puts its filter first and delivers"
)


def telemetry_rules(client_for: Callable[[str, str], Any], region: str) -> Finding:
    """Whether a telemetry rule of this account enables EKS audit logs in `region`."""
    return _rules(
        client_for("observabilityadmin", region).list_telemetry_rules,
        "telemetry rule",
        region,
        "observabilityadmin:ListTelemetryRules",
        none=f"no CloudWatch telemetry rule enables EKS audit logs in {region}",
        found=lambda names: (
            f"CloudWatch telemetry rule {names} enables EKS audit logs in {region}: {COEXIST} "
            "(enabling twice is harmless)"
        ),
    )


def organization_telemetry_rules(client_for: Callable[[str, str], Any], region: str) -> Finding:
    """Whether a telemetry rule of the organization enables EKS audit logs in `region`. Only its
    management account or a delegated administrator may list them (API reference,
    ListTelemetryRulesForOrganization); a rule is regional like an account's: "created in the home
    region and automatically replicated to all listed regions" (TelemetryRule.Regions)."""
    return _rules(
        client_for("observabilityadmin", region).list_telemetry_rules_for_organization,
        "organization telemetry rule",
        region,
        "observabilityadmin:ListTelemetryRulesForOrganization",
        none=f"no organization telemetry rule enables EKS audit logs in {region}",
        found=lambda names: (
            f"the organization's telemetry rule {names} enables EKS audit logs in {region} for the accounts "
            f"in its scope: {COEXIST}"
        ),
        unreadable=" (only the management account or a delegated administrator may list them)",
    )


def _rules(
    list_call: Callable[..., dict[str, Any]],
    feature: str,
    region: str,
    action: str,
    *,
    none: str,
    found: Callable[[str], str],
    unreadable: str = "",
) -> Finding:
    try:
        rules = _all(list_call, "TelemetryRuleSummaries")
    except (ClientError, BotoCoreError) as exc:
        said = _unreadable(feature, region, action, exc)
        return Finding(feature, region, None, said.text + unreadable)
    enabling = [rule["RuleName"] for rule in rules if enables_eks_audit(rule)]
    if not enabling:
        return Finding(feature, region, False, none)
    return Finding(feature, region, True, found(", ".join(enabling)))


def enables_eks_audit(rule: dict[str, Any]) -> bool:
    return rule.get("ResourceType") == EKS_RESOURCE and AUDIT_TELEMETRY in (
        rule.get("TelemetrySourceTypes") or []
    )


def security_lake(client_for: Callable[[str, str], Any], region: str, account: str) -> Finding:
    """Whether Security Lake collects EKS audit logs of `account` in `region`."""
    lake = client_for("securitylake", region)
    try:
        listed = _all(lambda **k: lake.list_log_sources(accounts=[account], regions=[region], **k), "sources")
    except (ClientError, BotoCoreError) as exc:
        if (
            isinstance(exc, ClientError)
            and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
        ):
            return Finding("Security Lake source", region, False, f"Security Lake is not enabled in {region}")
        return _unreadable("Security Lake source", region, "securitylake:ListLogSources", exc)
    collecting = any(
        source.get("awsLogSource", {}).get("sourceName") == LAKE_SOURCE
        for entry in listed
        for source in entry.get("sources", [])
    )
    if not collecting:
        return Finding(
            "Security Lake source",
            region,
            False,
            f"Security Lake does not collect EKS audit logs in {region}",
        )
    return Finding(
        "Security Lake source",
        region,
        True,
        f"Security Lake collects EKS audit logs in {region} too (source {LAKE_SOURCE}): the same audit log is collected, "
        "and paid for, twice; keep both only if both consumers need it",
    )


def _all(call: Callable[..., dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Every page of a list call that takes and answers NextToken/nextToken."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    token_name = "NextToken" if key[0].isupper() else "nextToken"
    while True:
        answer = call(**({token_name: token} if token else {}))
        found += answer.get(key, [])
        token = answer.get(token_name)
        if not token:
            return found
