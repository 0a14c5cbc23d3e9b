"""The event path's judgement (eks_audit_cli.event_path), on the selector shapes AWS documents
(API_PutEventSelectors, API_AdvancedFieldSelector), and the local cloud's own reading of the same
rules (eks_audit_local.trails, written apart on purpose) agreeing with it on every case; the rules'
FailedInvocations as CloudWatch's GetMetricData answers them."""

from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from eks_audit_cli.event_path import (
    RuleView,
    TrailView,
    admits,
    judge,
    read_failed_invocations,
    sweep_words,
)
from eks_audit_local import trails

MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
# (name, basic selectors, advanced selectors, whether a write management event of eks gets through)
SELECTORS = [
    ("no selectors: every management event", [], [], True),
    ("basic, all", [{"ReadWriteType": "All", "IncludeManagementEvents": True}], [], True),
    ("basic, write only", [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}], [], True),
    ("basic, read only", [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}], [], False),
    ("basic, data events only", [{"ReadWriteType": "All", "IncludeManagementEvents": False}], [], False),
    (
        "basic, KMS left out",
        [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
        [],
        True,
    ),
    ("advanced, management", [], [{"Name": "m", "FieldSelectors": [MANAGEMENT]}], True),
    (
        "advanced, read-only management",
        [],
        [{"FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["true"]}]}],
        False,
    ),
    (
        "advanced, write management",
        [],
        [{"FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}]}],
        True,
    ),
    (
        "advanced, management but KMS",
        [],
        [{"FieldSelectors": [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}],
        True,
    ),
    (
        "advanced, management but EKS",
        [],
        [{"FieldSelectors": [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["eks.amazonaws.com"]}]}],
        False,
    ),
    (
        "advanced, S3 data events only",
        [],
        [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                ]
            }
        ],
        False,
    ),
    (
        "advanced, data and management",
        [],
        [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                ]
            },
            {"FieldSelectors": [MANAGEMENT]},
        ],
        True,
    ),
]


@pytest.mark.parametrize(("name", "basic", "advanced", "expected"), SELECTORS, ids=[s[0] for s in SELECTORS])
def test_a_trails_selectors_let_write_management_events_through_as_aws_documents(
    name, basic, advanced, expected
):
    view = TrailView(
        "t", "arn:aws:cloudtrail:us-east-1:1:trail/t", "us-east-1", True, tuple(basic), tuple(advanced)
    )
    assert admits(view, "eks.amazonaws.com") is expected
    # the local cloud's independent reading agrees
    assert trails.selects(basic, advanced, "eks.amazonaws.com", read_only=False) is expected


def trail(name="t", logging=True, basic=(), advanced=()) -> TrailView:
    return TrailView(
        name, f"arn:aws:cloudtrail:us-east-1:1:trail/{name}", "us-east-1", logging, basic, advanced
    )


RULES = [
    RuleView("home-eks", "ENABLED", "eks.amazonaws.com"),
    RuleView("home-logs", "ENABLED", "logs.amazonaws.com"),
]
SWEEP = "every 6 hours"


def test_a_logging_trail_and_enabled_rules_let_events_through():
    path = judge("eu-west-1", [trail("off", logging=False), trail("on")], RULES, {}, SWEEP)
    assert (path.ok, path.cause, path.trails) == (True, None, ["on"])


@pytest.mark.parametrize(
    ("trails_", "rules", "failed", "cause"),
    [
        ([], RULES, {}, "no CloudTrail trail logs management events in eu-west-1"),
        ([trail("a", logging=False)], RULES, {}, "no CloudTrail trail is logging in eu-west-1 (a stopped)"),
        (
            [trail("a", basic=({"ReadWriteType": "ReadOnly"},))],
            RULES,
            {},
            "the event selectors of a in eu-west-1 leave out write management events of eks.amazonaws.com and "
            "logs.amazonaws.com",
        ),
        (
            [trail()],
            [RULES[0], RuleView("home-logs", "DISABLED", "logs.amazonaws.com")],
            {},
            "the stack's rule for logs.amazonaws.com events is not ENABLED in eu-west-1 (home-logs is DISABLED)",
        ),
        (
            [trail()],
            [],
            {},
            "the stack's rule for eks.amazonaws.com and logs.amazonaws.com events is not ENABLED in eu-west-1 "
            "(none found)",
        ),
        (
            [trail()],
            RULES,
            {"home-eks": 3, "home-logs": 0},
            "the stack's rules failed invocations in eu-west-1 over the window (home-eks 3): events were dropped",
        ),
    ],
    ids=["no-trail", "stopped", "selectors", "rule-disabled", "no-rules", "failed-invocations"],
)
def test_each_break_is_named_with_what_follows(trails_, rules, failed, cause):
    path = judge("eu-west-1", trails_, rules, failed, SWEEP)
    assert path.ok is False
    assert path.cause == f"{cause}: new clusters there are onboarded only by the sweep, every 6 hours"


def test_two_trails_that_each_miss_one_source_do_not_add_up_to_a_failure():
    """Each source needs some logging trail: one that logs EKS and another that logs Logs suffice."""
    no_logs = trail(
        "a",
        advanced=(
            {"FieldSelectors": [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["logs.amazonaws.com"]}]},
        ),
    )
    no_eks = trail(
        "b",
        advanced=(
            {"FieldSelectors": [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["eks.amazonaws.com"]}]},
        ),
    )
    assert judge("eu-west-1", [no_logs, no_eks], RULES, {}, SWEEP).ok is True


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("rate(6 hours)", "every 6 hours"),
        ("rate(1 hour)", "every hour"),
        ("cron(0 * * * ? *)", "on its schedule (cron(0 * * * ? *))"),
    ],
)
def test_the_sweep_schedule_in_words(schedule, words):
    assert sweep_words(schedule) == words


def cloudwatch_answering(values: dict[str, list[float]]):
    """A CloudWatch client whose GetMetricData answers `values` per query id, stubbed with botocore's
    Stubber (which holds the request and the answer to the service's model); the request is the one
    FailedInvocations query per rule (AWS/Events, RuleName: eb-monitoring) over the window."""
    cloudwatch = botocore.session.get_session().create_client(
        "cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(cloudwatch)
    queries = [
        {
            "Id": f"r{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Events",
                    "MetricName": "FailedInvocations",
                    "Dimensions": [{"Name": "RuleName", "Value": rule.name}],
                },
                "Period": 3600,
                "Stat": "Sum",
            },
        }
        for index, rule in enumerate(RULES)
    ]
    answer = {
        "MetricDataResults": [
            {
                "Id": query_id,
                "Label": "FailedInvocations",
                "Timestamps": [datetime(2026, 12, 1, tzinfo=UTC)] * len(sums),
                "Values": sums,
                "StatusCode": "Complete",
            }
            for query_id, sums in values.items()
        ]
    }
    stub.add_response(
        "get_metric_data", answer, {"MetricDataQueries": queries, "StartTime": ANY, "EndTime": ANY}
    )
    stub.activate()
    return cloudwatch, stub


@pytest.mark.parametrize(
    ("values", "failed", "cause"),
    [
        (
            {"r0": [2.0, 1.0], "r1": []},
            {"home-eks": 3, "home-logs": 0},
            "the stack's rules failed invocations in eu-west-1 over the window (home-eks 3): events were dropped",
        ),
        ({"r0": [0.0], "r1": []}, {"home-eks": 0, "home-logs": 0}, None),
        ({}, {"home-eks": 0, "home-logs": 0}, None),  # EventBridge sends the metric only when not zero
    ],
    ids=["failed", "zero", "absent"],
)
def test_failed_invocations_read_from_cloudwatch_break_the_path_only_when_not_zero(values, failed, cause):
    cloudwatch, stub = cloudwatch_answering(values)
    read = read_failed_invocations(cloudwatch, [rule.name for rule in RULES], 3600)
    stub.assert_no_pending_responses()
    assert read == failed
    path = judge("eu-west-1", [trail()], RULES, read, SWEEP)
    assert path.ok is (cause is None) and path.failed_invocations == failed
    assert path.cause == (
        f"{cause}: new clusters there are onboarded only by the sweep, every 6 hours" if cause else None
    )
