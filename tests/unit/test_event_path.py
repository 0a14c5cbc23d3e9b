"""The event path's judgement (eks_audit_cli.event_path), on the selector shapes AWS documents
(API_PutEventSelectors, API_AdvancedFieldSelector), and the local cloud's own reading of the same
rules (eks_audit_local.trails, written apart on purpose) agreeing with it on every case."""

import pytest

from eks_audit_cli.event_path import RuleView, TrailView, admits, judge, sweep_words
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
