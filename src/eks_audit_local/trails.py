"""CloudTrail as EventBridge sees it: an "AWS API Call via CloudTrail" event exists only where a
trail with logging on records the call. The local cloud asks this module before it puts such an
event on a region's bus, reading the trails moto keeps (created, stopped, deleted or re-selected
through the CloudTrail API, so a call changes the answer at once).

What AWS does, and the page each behaviour follows:
- "To record events with a detail-type value of AWS API Call via CloudTrail, a CloudTrail trail with
  logging enabled is required" (eventbridge/latest/userguide/eb-service-event-cloudtrail.html);
- the trail must exist in the rule's region: a single-region trail elsewhere does not count
  (knowledge-center/iam-eventbridge-sns-rule), a multi-region trail exists in every region
  (awscloudtrail/latest/userguide/cloudtrail-concepts-trails-managing-and-using.html);
- an organization trail, created in the management account, "is created in every ... account" of
  the organization (awscloudtrail/latest/userguide/creating-trail-organization.html);
- with no event selectors a trail logs "all read and write management events"; basic selectors
  (ReadWriteType, IncludeManagementEvents, ExcludeManagementEventSources) and advanced selectors
  (for management events the fields eventCategory, eventSource and readOnly; operators Equals,
  NotEquals, StartsWith, NotStartsWith, EndsWith, NotEndsWith) narrow it, and a trail has one kind
  or the other (awscloudtrail/latest/APIReference/API_PutEventSelectors.html,
  API_AdvancedFieldSelector.html).

Written apart from the CLI's judgement of the same question (eks_audit_cli.event_path) on purpose:
the two read AWS's rules independently, so that a mistake in one shows in the tests of the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_TRAIL = "local-management-events"


def trails_covering(account: str, region: str) -> list[Any]:
    """moto's trails that exist in `region` for `account`: its own multi-region trails and those
    of the region, and the organization trails of its management account."""
    from moto.cloudtrail.models import cloudtrail_backends

    own = [
        trail
        for backend in list(cloudtrail_backends[account].values())
        for trail in list(backend.trails.values())
    ]
    return [
        trail
        for trail in own + organization_trails(account)
        if trail.is_multi_region or trail.region_name == region
    ]


def records(account: str, region: str, event_source: str, read_only: bool = False) -> bool:
    """Whether a management event of `event_source` (a write unless `read_only`) made in `region`
    is recorded by a logging trail, so reaches EventBridge there."""
    return any(
        trail.status.is_logging
        and selects(trail.event_selectors, trail.advanced_event_selectors, event_source, read_only)
        for trail in trails_covering(account, region)
    )


def selects(
    basic: list[Mapping[str, Any]], advanced: list[Mapping[str, Any]], source: str, read_only: bool
) -> bool:
    if basic:  # the last PutEventSelectors with basic selectors replaced any advanced ones
        return any(_basic_selects(selector, source, read_only) for selector in basic)
    if advanced:
        return any(_advanced_selects(selector, source, read_only) for selector in advanced)
    return True  # no selectors: every management event, read and write


def _basic_selects(selector: Mapping[str, Any], source: str, read_only: bool) -> bool:
    if not selector.get("IncludeManagementEvents", True):
        return False
    kind = selector.get("ReadWriteType", "All")
    if kind == ("WriteOnly" if read_only else "ReadOnly"):
        return False
    return source not in selector.get("ExcludeManagementEventSources", [])


def _advanced_selects(selector: Mapping[str, Any], source: str, read_only: bool) -> bool:
    event = {"eventCategory": "Management", "eventSource": source, "readOnly": str(read_only).lower()}
    for field in selector.get("FieldSelectors", []):
        value = event.get(field["Field"])
        if value is None:  # a data-event field: this selector is not a management one
            return False
        if not _field_holds(field, value):
            return False
    return True


def _field_holds(field: Mapping[str, Any], value: str) -> bool:
    tests = {
        "Equals": lambda v: value in v,
        "NotEquals": lambda v: value not in v,
        "StartsWith": lambda v: any(value.startswith(p) for p in v),
        "NotStartsWith": lambda v: not any(value.startswith(p) for p in v),
        "EndsWith": lambda v: any(value.endswith(p) for p in v),
        "NotEndsWith": lambda v: not any(value.endswith(p) for p in v),
    }
    return all(test(field[name]) for name, test in tests.items() if name in field)


def organization_trails(account: str) -> list[Any]:
    """The organization trails of `account`'s management account, when it is a member."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.organizations.models import organizations_backends

    management = organizations_backends.master_accounts.get(account, (None,))[0]
    if not management or management == account:
        return []
    return [
        trail
        for backend in list(cloudtrail_backends[management].values())
        for trail in list(backend.trails.values())
        if trail.is_org_trail
    ]


def install() -> None:
    """A member account sees its organization's trails: DescribeTrails lists them (with their
    IsOrganizationTrail and the management account's ARN), and GetTrailStatus and GetEventSelectors
    answer for them by ARN ("you must provide the full ARN of that trail": API_GetTrailStatus;
    creating-trail-organization). moto keeps a trail only in its own account."""
    from moto.cloudtrail.exceptions import TrailNotFoundException
    from moto.cloudtrail.models import CloudTrailBackend

    if getattr(CloudTrailBackend, "_eks_audit_organization_trails", False):
        return
    CloudTrailBackend._eks_audit_organization_trails = True
    describe, get = CloudTrailBackend.describe_trails, CloudTrailBackend.get_trail

    def describe_trails(self: Any, include_shadow_trails: bool) -> list[Any]:
        own = list(describe(self, include_shadow_trails))
        shared = [
            t
            for t in organization_trails(self.account_id)
            if t.is_multi_region or t.region_name == self.region_name
        ]
        return own + [t for t in shared if include_shadow_trails or t.region_name == self.region_name]

    def get_trail(self: Any, name_or_arn: str) -> Any:
        try:
            return get(self, name_or_arn)
        except TrailNotFoundException:
            for trail in organization_trails(self.account_id):
                if trail.arn == name_or_arn:
                    return trail
            raise

    CloudTrailBackend.describe_trails = describe_trails
    CloudTrailBackend.get_trail = get_trail


def create_default_trail(account: str, region: str) -> None:
    """What `local serve` starts with: one multi-region trail logging every management event, its
    bucket in `region` (in an organization, the management account's, made an organization trail:
    make_organization_trail)."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.s3.models import s3_backends

    bucket = f"local-cloudtrail-{account}"
    s3_backends[account]["aws"].create_bucket(bucket, region)
    trail = cloudtrail_backends[account][region].create_trail(
        name=DEFAULT_TRAIL,
        bucket_name=bucket,
        s3_key_prefix="",
        sns_topic_name="",
        is_global=True,
        is_multi_region=True,
        log_validation=False,
        is_org_trail=False,
        cw_log_group_arn="",
        cw_role_arn="",
        kms_key_id="",
        tags_list=[],
    )
    trail.start_logging()


def make_organization_trail(account: str, region: str) -> None:
    """The default trail of the management account becomes an organization trail (UpdateTrail with
    IsOrganizationTrail), as an organization's administrators commonly have it."""
    from moto.cloudtrail.models import cloudtrail_backends

    cloudtrail_backends[account][region].get_trail(DEFAULT_TRAIL).is_org_trail = True
