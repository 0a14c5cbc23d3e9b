"""Can CloudTrail events reach the controller in a region? eks-audit is hands-off only if they can:
without them a new cluster waits for the next sweep (hours) and every other check still passes.

What AWS requires (pages read through the search tool, December 2026):
- a trail with logging on records the call: "To record events with a detail-type value of AWS API
  Call via CloudTrail, a CloudTrail trail with logging enabled is required"
  (eventbridge/latest/userguide/eb-service-event-cloudtrail.html); the trail must exist in the
  region (a multi-region trail or an organization trail exists in every region and account it
  covers: cloudtrail-concepts-trails-managing-and-using, creating-trail-organization);
- its selectors let write management events of eks.amazonaws.com and logs.amazonaws.com through:
  none at all means every management event (API_PutEventSelectors); basic selectors
  (ReadWriteType, IncludeManagementEvents, ExcludeManagementEventSources) or advanced ones
  (eventCategory, eventSource, readOnly: API_AdvancedFieldSelector);
- the stack's rules are ENABLED (home region: those targeting the reconcile queue; a spoke: those
  forwarding to the home region's bus), and have not failed invocations over the window (AWS/Events
  FailedInvocations per RuleName, sent only when non-zero: eb-monitoring).

`judge` is pure; `check` reads. A trail is read in its home region and by its ARN (GetTrailStatus
needs the ARN for a shadow or an organization trail; whether GetEventSelectors answers for a shadow
trail outside its home region is not documented, its home region always does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import DENIED, scp_refusal

WATCHED_SOURCES = ("eks.amazonaws.com", "logs.amazonaws.com")
RULE_SOURCES = {"aws.eks": "eks.amazonaws.com", "aws.logs": "logs.amazonaws.com"}


@dataclass(frozen=True)
class TrailView:
    name: str
    arn: str
    home_region: str
    logging: bool
    basic: tuple[dict, ...] = ()
    advanced: tuple[dict, ...] = ()
    organization: bool = False


@dataclass(frozen=True)
class RuleView:
    name: str
    state: str
    source: str  # the event source its pattern watches (eks.amazonaws.com, logs.amazonaws.com)


@dataclass
class EventPath:
    region: str
    ok: bool | None  # None: could not be checked (the reason in `cause`)
    cause: str | None = None
    trails: list[str] = field(default_factory=list)  # the logging trails that let our events through
    rules: dict[str, str] = field(default_factory=dict)  # rule -> state
    failed_invocations: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the judgement (pure) ----------------------------------------------------------------------------


def admits(trail: TrailView, source: str) -> bool:
    """Whether the trail's selectors let a write management event of `source` through."""
    if trail.basic:
        return any(
            selector.get("IncludeManagementEvents", True)
            and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
            and source not in selector.get("ExcludeManagementEventSources", [])
            for selector in trail.basic
        )
    if trail.advanced:
        event = {"eventCategory": "Management", "eventSource": source, "readOnly": "false"}
        return any(_advanced_admits(selector, event) for selector in trail.advanced)
    return True


def _advanced_admits(selector: dict, event: dict[str, str]) -> bool:
    for condition in selector.get("FieldSelectors", []):
        value = event.get(condition["Field"])
        if value is None:
            return False  # a data-event field: not a selector of management events
        if "Equals" in condition and value not in condition["Equals"]:
            return False
        if value in condition.get("NotEquals", []):
            return False
        if "StartsWith" in condition and not any(value.startswith(p) for p in condition["StartsWith"]):
            return False
        if any(value.startswith(p) for p in condition.get("NotStartsWith", [])):
            return False
        if "EndsWith" in condition and not any(value.endswith(p) for p in condition["EndsWith"]):
            return False
        if any(value.endswith(p) for p in condition.get("NotEndsWith", [])):
            return False
    return True


def trail_cause(region: str, trails: list[TrailView]) -> str | None:
    """Why the trails of `region` do not record both watched sources' write management events, or
    None when some logging trail records each."""
    logging = [t for t in trails if t.logging]
    if not trails:
        return f"no CloudTrail trail logs management events in {region}"
    if not logging:
        return f"no CloudTrail trail is logging in {region} ({', '.join(t.name for t in trails)} stopped)"
    missing = [s for s in WATCHED_SOURCES if not any(admits(t, s) for t in logging)]
    if missing:
        names = ", ".join(t.name for t in logging)
        return f"the event selectors of {names} in {region} leave out write management events of {' and '.join(missing)}"
    return None


def rules_cause(region: str, rules: list[RuleView], failed: dict[str, int]) -> str | None:
    """Why the stack's rules in `region` do not take both sources' events to the controller."""
    watched = {rule.source for rule in rules if rule.state == "ENABLED"}
    absent = [s for s in WATCHED_SOURCES if s not in watched]
    if absent:
        stopped = [f"{rule.name} is {rule.state}" for rule in rules if rule.state != "ENABLED"]
        found = f" ({'; '.join(stopped)})" if stopped else " (none found)"
        return f"the stack's rule for {' and '.join(absent)} events is not ENABLED in {region}{found}"
    if any(failed.values()):
        counts = ", ".join(f"{name} {count}" for name, count in sorted(failed.items()) if count)
        return f"the stack's rules failed invocations in {region} over the window ({counts}): events were dropped"
    return None


def judge(
    region: str, trails: list[TrailView], rules: list[RuleView], failed: dict[str, int], sweep: str
) -> EventPath:
    """Whether the events of both watched sources reach the controller, and if not, why."""
    through = [t.name for t in trails if t.logging and all(admits(t, s) for s in WATCHED_SOURCES)]
    states = {rule.name: rule.state for rule in rules}
    cause = trail_cause(region, trails) or rules_cause(region, rules, failed)
    if cause is None:
        return EventPath(region, True, None, through, states, failed)
    consequence = f"new clusters there are onboarded only by the sweep, {sweep}"
    return EventPath(region, False, f"{cause}: {consequence}", through, states, failed)


def sweep_words(schedule: str) -> str:
    """The sweep's schedule in words: rate(6 hours) -> every 6 hours."""
    found = re.fullmatch(r"rate\((\d+) (\w+)\)", schedule.strip())
    if found:
        count, unit = found.groups()
        return f"every {unit.rstrip('s')}" if count == "1" else f"every {count} {unit}"
    return f"on its schedule ({schedule})"


# -- reading AWS ------------------------------------------------------------------------------------


class NotChecked(RuntimeError):
    """The event path could not be read (a denied permission, an API error): the text says which."""

    def __init__(self, text: str, cause: Exception | None = None):
        super().__init__(text)
        self.cause = cause  # AWS's error, for a caller that tells a refusal from no credentials


def check(
    client_for: Callable[[str, str], Any],
    region: str,
    target_arn: str,
    sweep: str,
    window_s: int = 0,
) -> EventPath:
    """The event path of `region`: its trails, the stack's rules (those whose target is
    `target_arn`: the reconcile queue at home, the home bus in a spoke) and their failures."""
    try:
        trails = read_trails(client_for, region)
        rules = read_rules(client_for("events", region), target_arn)
    except NotChecked as exc:
        return EventPath(region, None, f"event path not checked in {region}: {exc}")
    failed = read_failed_invocations(client_for("cloudwatch", region), [r.name for r in rules], window_s)
    return judge(region, trails, rules, failed, sweep_words(sweep))


def _refusal(exc: Exception, action: str) -> NotChecked:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if code in DENIED:
            policy = " by a service control policy" if scp_refusal(message) else ""
            return NotChecked(f"{action} denied{policy}", exc)
        return NotChecked(f"{action}: {code}: {message}", exc)
    return NotChecked(f"{action}: {exc}", exc)


def read_trails(client_for: Callable[[str, str], Any], region: str) -> list[TrailView]:
    try:
        listed = client_for("cloudtrail", region).describe_trails(includeShadowTrails=True)["trailList"]
    except (ClientError, BotoCoreError) as exc:
        raise _refusal(exc, "cloudtrail:DescribeTrails") from None
    views = []
    for trail in listed:
        home = trail.get("HomeRegion", region)
        cloudtrail = client_for("cloudtrail", home)
        try:
            status = cloudtrail.get_trail_status(Name=trail["TrailARN"])
            selectors = cloudtrail.get_event_selectors(TrailName=trail["TrailARN"])
        except (ClientError, BotoCoreError) as exc:
            raise _refusal(exc, f"reading the trail {trail['Name']}") from None
        views.append(
            TrailView(
                name=trail["Name"],
                arn=trail["TrailARN"],
                home_region=home,
                logging=bool(status.get("IsLogging")),
                basic=tuple(selectors.get("EventSelectors") or ()),
                advanced=tuple(selectors.get("AdvancedEventSelectors") or ()),
                organization=bool(trail.get("IsOrganizationTrail")),
            )
        )
    return views


def read_rules(events: Any, target_arn: str) -> list[RuleView]:
    """The rules that deliver to `target_arn`, with the event source each watches."""
    try:
        names = events.list_rule_names_by_target(TargetArn=target_arn).get("RuleNames", [])
        described = [events.describe_rule(Name=name) for name in names]
    except (ClientError, BotoCoreError) as exc:
        raise _refusal(exc, "reading the stack's EventBridge rules") from None
    rules = []
    for rule in described:
        pattern = json.loads(rule.get("EventPattern") or "{}")
        for source in pattern.get("source", []):
            if source in RULE_SOURCES:
                rules.append(RuleView(rule["Name"], rule.get("State", "ENABLED"), RULE_SOURCES[source]))
    return rules


def read_failed_invocations(cloudwatch: Any, rule_names: list[str], window_s: int) -> dict[str, int]:
    """FailedInvocations per rule over the window (AWS/Events, the default bus: RuleName alone); a
    metric that is absent counts 0 (EventBridge sends it only when it is not). Unreadable: {}."""
    if not window_s or not rule_names:
        return {}
    end = datetime.now(UTC)
    queries = [
        {
            "Id": f"r{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Events",
                    "MetricName": "FailedInvocations",
                    "Dimensions": [{"Name": "RuleName", "Value": name}],
                },
                "Period": max(60, window_s - window_s % 60),
                "Stat": "Sum",
            },
        }
        for index, name in enumerate(rule_names)
    ]
    try:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=end - timedelta(seconds=window_s), EndTime=end
        )
    except (ClientError, BotoCoreError):
        return {}
    by_id = {
        result["Id"]: int(sum(result.get("Values", []))) for result in answer.get("MetricDataResults", [])
    }
    return {name: by_id.get(f"r{index}", 0) for index, name in enumerate(rule_names)}
