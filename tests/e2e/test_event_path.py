"""The event path on a two-region local cloud: CloudTrail events reach EventBridge only where a
logging trail records them (trails.py), and `eks-audit status` says so per covered region, with the
cause and the consequence, exiting non-zero when a region's events cannot arrive."""

import json

import pytest
from click.testing import CliRunner

from eks_audit_cli.main import cli
from eks_audit_local.trails import DEFAULT_TRAIL
from tests.e2e.conftest import recorded_cloud
from tests.helpers import audit_on

HOME, SPOKE = "us-east-1", "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture(scope="module")
def cloud():
    with recorded_cloud(region=HOME, spoke_regions=(SPOKE,)) as local:
        yield local


@pytest.fixture
def trail(cloud):
    """The default trail; whatever a test does to it is undone after."""
    cloudtrail = cloud.client("cloudtrail")
    yield cloudtrail
    names = [t["Name"] for t in cloudtrail.describe_trails(includeShadowTrails=False)["trailList"]]
    for name in names:
        if name != DEFAULT_TRAIL:
            cloudtrail.delete_trail(Name=name)
    for region in (HOME, SPOKE):
        for extra in cloud.client("cloudtrail", region).describe_trails(includeShadowTrails=False)[
            "trailList"
        ]:
            if extra["Name"] != DEFAULT_TRAIL:
                cloud.client("cloudtrail", region).delete_trail(Name=extra["Name"])
    if DEFAULT_TRAIL not in names:
        cloudtrail.create_trail(
            Name=DEFAULT_TRAIL, S3BucketName="local-cloudtrail-123456789012", IsMultiRegionTrail=True
        )
    cloudtrail.put_event_selectors(
        TrailName=DEFAULT_TRAIL, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    cloudtrail.start_logging(Name=DEFAULT_TRAIL)


def status(cloud) -> tuple[int, dict]:
    args = [
        "status",
        "--json",
        "--window",
        "0",
        "--endpoint-url",
        cloud.endpoint,
        "--regions",
        f"{HOME},{SPOKE}",
    ]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, json.loads(result.stdout)


def paths(report: dict) -> dict[str, tuple[bool | None, str | None]]:
    return {p["region"]: (p["ok"], p["cause"]) for p in report["event_paths"]}


def onboarded_within(cloud, region: str, name: str, seconds: float) -> bool:
    cloud.client("eks", region).create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={})
    return cloud.wait_until(lambda: audit_on(cloud, region, name), seconds)


def test_with_the_default_trail_both_regions_events_arrive(cloud, trail):
    _code, report = status(cloud)
    assert paths(report) == {HOME: (True, None), SPOKE: (True, None)}
    (home,) = [p for p in report["event_paths"] if p["region"] == HOME]
    assert home["trails"] == [DEFAULT_TRAIL]
    assert sorted(home["rules"].values()) == ["ENABLED", "ENABLED"]
    assert onboarded_within(cloud, SPOKE, "arrives", 20)


def test_a_stopped_trail_stops_the_events_and_status_says_so(cloud, trail):
    trail.stop_logging(Name=DEFAULT_TRAIL)
    code, report = status(cloud)
    assert code == 1 and not report["ok"]
    for region in (HOME, SPOKE):
        ok, cause = paths(report)[region]
        assert ok is False
        assert cause == (
            f"no CloudTrail trail is logging in {region} ({DEFAULT_TRAIL} stopped): new clusters there "
            "are onboarded only by the sweep, every 6 hours"
        )
    assert not onboarded_within(cloud, HOME, "unheard", 4)  # no event: nothing but a sweep would see it
    trail.start_logging(Name=DEFAULT_TRAIL)
    assert onboarded_within(cloud, HOME, "heard-again", 20)


def test_selectors_that_leave_out_write_events_are_named(cloud, trail):
    trail.put_event_selectors(
        TrailName=DEFAULT_TRAIL,
        EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
    )
    code, report = status(cloud)
    assert code == 1
    ok, cause = paths(report)[HOME]
    assert ok is False and cause.startswith(
        f"the event selectors of {DEFAULT_TRAIL} in {HOME} leave out write management events of "
        "eks.amazonaws.com and logs.amazonaws.com"
    )
    assert not onboarded_within(cloud, HOME, "selected-out", 4)


def test_a_single_region_trail_elsewhere_covers_only_its_region(cloud, trail):
    trail.delete_trail(Name=DEFAULT_TRAIL)
    spoke_trail = cloud.client("cloudtrail", SPOKE)
    spoke_trail.create_trail(Name="only-eu", S3BucketName="local-cloudtrail-123456789012")
    spoke_trail.start_logging(Name="only-eu")
    code, report = status(cloud)
    assert code == 1
    assert paths(report)[HOME] == (
        False,
        f"no CloudTrail trail logs management events in {HOME}: new clusters there are onboarded only "
        "by the sweep, every 6 hours",
    )
    assert paths(report)[SPOKE] == (True, None)
    assert not onboarded_within(cloud, HOME, "no-trail-here", 4)
    assert onboarded_within(cloud, SPOKE, "trail-here", 20)


def test_a_disabled_rule_is_named(cloud, trail):
    events = cloud.client("events", SPOKE)
    prefix = cloud.stack.output("SpokeNamePrefix")
    events.disable_rule(Name=f"{prefix}-logs-calls")
    try:
        code, report = status(cloud)
        ok, cause = paths(report)[SPOKE]
        assert code == 1 and ok is False
        assert cause.startswith(
            f"the stack's rule for logs.amazonaws.com events is not ENABLED in {SPOKE} "
            f"({prefix}-logs-calls is DISABLED)"
        )
        assert paths(report)[HOME] == (True, None)
    finally:
        events.enable_rule(Name=f"{prefix}-logs-calls")


def test_the_text_output_adds_one_event_path_line(cloud, trail):
    args = ["status", "--window", "0", "--endpoint-url", cloud.endpoint, "--regions", f"{HOME},{SPOKE}"]
    result = CliRunner().invoke(cli, args)
    lines = [line for line in result.stdout.splitlines() if line.startswith("event path:")]
    assert lines == [f"event path: CloudTrail events reach the controller in {HOME}, {SPOKE}"]
