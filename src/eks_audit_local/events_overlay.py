"""EventBridge targets across regions as AWS allows them, where moto 5.2.5 accepts any target.

After `install()`, PutTargets refuses (ValidationException) a target in another region unless it is
an event bus, and an event bus in another region without a RoleArn: "Event buses are the only
cross-region target" and the rule needs a role allowed events:PutEvents on the destination bus
(eventbridge/latest/userguide/eb-cross-region.html, eb-event-bus-perms.html). The message texts are ours.
moto already delivers to a bus in another region (its send_to_targets), which the spokes' rules use.
"""

from __future__ import annotations

_installed = False


def refusal(rule_region: str, target: dict) -> str | None:
    """Why AWS would refuse `target` on a rule of `rule_region`, or None."""
    parts = str(target.get("Arn", "")).split(":")
    if len(parts) < 6 or parts[3] in ("", rule_region):
        return None
    if not (parts[2] == "events" and parts[5].startswith("event-bus/")):
        return f"target {target['Arn']}: only an event bus may be a target in another region"
    if not target.get("RoleArn"):
        return f"target {target['Arn']}: a cross-region event bus target needs a RoleArn"
    return None


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend

    original = EventsBackend.put_targets

    def put_targets(self, name, event_bus_arn, targets):
        for target in targets:
            problem = refusal(self.region_name, target)
            if problem is not None:
                raise ValidationException(problem)
        return original(self, name, event_bus_arn, targets)

    EventsBackend.put_targets = put_targets
