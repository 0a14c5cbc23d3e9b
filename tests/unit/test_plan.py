"""The plan over a table of observed states: every verdict and every branch."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.model import Action, Observed, SubscriptionFilter, UpdateState, Verdict
from eks_audit.plan import make_plan
from eks_audit.settings import Settings

FIREHOSE = "arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit"
ROLE = "arn:aws:iam::123456789012:role/eks-audit-logs"
SETTINGS = Settings(
    firehose_arn=FIREHOSE, logs_role_arn=ROLE, wait_creating_seconds=60, wait_updating_seconds=20
)
OURS = SubscriptionFilter("eks-audit", STANDARD_FILTER_PATTERN, FIREHOSE, ROLE)
DATADOG = SubscriptionFilter("datadog", "", "arn:aws:lambda:us-east-1:123456789012:function:dd")
SPLUNK = SubscriptionFilter("splunk", "", "arn:aws:firehose:us-east-1:123456789012:deliverystream/splunk")

COMPLIANT = Observed(
    cluster="payments",
    region="us-east-1",
    exists=True,
    status="ACTIVE",
    tags={"team": "payments"},
    enabled_log_types=frozenset({"audit", "api"}),
    log_group_exists=True,
    filters=(OURS,),
)
A = Action


def observed(**changes) -> Observed:
    return replace(COMPLIANT, **changes)


CASES = [
    # (id, observed, verdict, actions, requeue_after)
    ("compliant", COMPLIANT, Verdict.COMPLIANT, (), None),
    ("compliant beside a foreign filter", observed(filters=(DATADOG, OURS)), Verdict.COMPLIANT, (), None),
    ("gone", Observed("payments", "us-east-1", exists=False), Verdict.GONE, (), None),
    ("deleting", observed(status="DELETING"), Verdict.GONE, (), None),
    ("failed cluster", observed(status="FAILED", log_group_exists=False), Verdict.SKIPPED, (), None),
    (
        "opt-out tag",
        observed(tags={"eks-audit:skip": "true"}, log_group_exists=False),
        Verdict.SKIPPED,
        (),
        None,
    ),
    ("opt-out tag, any case", observed(tags={"eks-audit:skip": " TRUE "}), Verdict.SKIPPED, (), None),
    ("tag false is in scope", observed(tags={"eks-audit:skip": "false"}), Verdict.COMPLIANT, (), None),
    (
        "new cluster, creating, nothing yet",
        observed(status="CREATING", enabled_log_types=frozenset(), log_group_exists=False, filters=()),
        Verdict.DRIFTED,
        (A.CREATE_LOG_GROUP, A.PUT_FILTER),
        60,
    ),
    (
        "creating, filter already in place",
        observed(status="CREATING", enabled_log_types=frozenset()),
        Verdict.PENDING,
        (),
        60,
    ),
    (
        "pending status waits like creating",
        observed(status="PENDING", enabled_log_types=frozenset()),
        Verdict.PENDING,
        (),
        60,
    ),
    (
        "updating",
        observed(status="UPDATING", enabled_log_types=frozenset()),
        Verdict.PENDING,
        (),
        20,
    ),
    (
        "audit on but UPDATING: the update may switch it off",
        observed(status="UPDATING"),
        Verdict.PENDING,
        (),
        20,
    ),
    (
        "audit on, an update of someone else's in flight",
        observed(update=UpdateState("u-3", "InProgress")),
        Verdict.PENDING,
        (),
        20,
    ),
    (
        "update in progress on an ACTIVE cluster",
        observed(enabled_log_types=frozenset(), update=UpdateState("u-1", "InProgress")),
        Verdict.PENDING,
        (),
        20,
    ),
    (
        "active, never instrumented: log group first, audit last",
        observed(enabled_log_types=frozenset({"api"}), log_group_exists=False, filters=()),
        Verdict.DRIFTED,
        (A.CREATE_LOG_GROUP, A.PUT_FILTER, A.ENABLE_AUDIT),
        None,
    ),
    (
        "audit switched off",
        observed(enabled_log_types=frozenset({"api"})),
        Verdict.DRIFTED,
        (A.ENABLE_AUDIT,),
        None,
    ),
    (
        "update succeeded but audit is off again",
        observed(enabled_log_types=frozenset(), update=UpdateState("u-1", "Successful")),
        Verdict.DRIFTED,
        (A.ENABLE_AUDIT,),
        None,
    ),
    ("filter deleted", observed(filters=(DATADOG,)), Verdict.DRIFTED, (A.PUT_FILTER,), None),
    (
        "filter pattern changed",
        observed(filters=(replace(OURS, pattern=""),)),
        Verdict.DRIFTED,
        (A.PUT_FILTER,),
        None,
    ),
    (
        "filter points elsewhere",
        observed(filters=(replace(OURS, destination_arn=SPLUNK.destination_arn),)),
        Verdict.DRIFTED,
        (A.PUT_FILTER,),
        None,
    ),
    (
        "filter role changed",
        observed(filters=(replace(OURS, role_arn=None),)),
        Verdict.DRIFTED,
        (A.PUT_FILTER,),
        None,
    ),
    (
        "full of foreign filters, audit on",
        observed(filters=(DATADOG, SPLUNK)),
        Verdict.CONFLICT,
        (),
        None,
    ),
    (
        "full of foreign filters, audit off: audit still enabled",
        observed(filters=(DATADOG, SPLUNK), enabled_log_types=frozenset()),
        Verdict.CONFLICT,
        (A.ENABLE_AUDIT,),
        None,
    ),
    (
        "full, but ours is one of them: updated in place",
        observed(filters=(DATADOG, replace(OURS, pattern=""))),
        Verdict.DRIFTED,
        (A.PUT_FILTER,),
        None,
    ),
    (
        "logging update failed",
        observed(enabled_log_types=frozenset(), update=UpdateState("u-2", "Failed", ("AccessDenied: x",))),
        Verdict.ERROR,
        (),
        None,
    ),
]


@pytest.mark.parametrize(
    ("observed_state", "verdict", "actions", "requeue"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_plan_table(observed_state, verdict, actions, requeue):
    plan = make_plan(observed_state, SETTINGS)
    assert plan.verdict is verdict
    assert plan.actions == actions
    assert plan.requeue_after == requeue
    assert plan.reason


def test_every_verdict_is_covered_by_the_table():
    assert {case[2] for case in CASES} == set(Verdict)


def test_conflict_names_the_foreign_filters():
    plan = make_plan(observed(filters=(DATADOG, SPLUNK)), SETTINGS)
    assert plan.foreign_filters == ("datadog", "splunk")
    assert "datadog" in plan.reason and "splunk" in plan.reason


def test_name_excluded_by_regex_is_skipped():
    settings = replace(SETTINGS, exclude_clusters="pay.*")
    assert make_plan(COMPLIANT, settings).verdict is Verdict.SKIPPED
    settings = replace(SETTINGS, include_clusters="prod-.*")
    assert make_plan(COMPLIANT, settings).verdict is Verdict.SKIPPED


def test_a_higher_filter_limit_leaves_room():
    settings = replace(SETTINGS, subscription_filter_limit=5)
    plan = make_plan(observed(filters=(DATADOG, SPLUNK)), settings)
    assert plan.verdict is Verdict.DRIFTED
    assert plan.actions == (A.PUT_FILTER,)


def test_failed_update_reason_carries_the_errors():
    plan = make_plan(
        observed(enabled_log_types=frozenset(), update=UpdateState("u-2", "Failed", ("AccessDenied: no",))),
        SETTINGS,
    )
    assert "u-2 Failed: AccessDenied: no" in plan.reason


def test_an_opted_out_cluster_that_still_ships_says_so():
    shipping = make_plan(observed(tags={"eks-audit:skip": "true"}), SETTINGS)
    assert shipping.verdict is Verdict.SKIPPED and not shipping.actions
    assert "still shipping: our filter 'eks-audit' and audit logging are in place" in shipping.reason
    stopped = make_plan(observed(tags={"eks-audit:skip": "true"}, filters=(DATADOG,)), SETTINGS)
    assert stopped.verdict is Verdict.SKIPPED and "still shipping" not in stopped.reason


NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age_seconds", "expected"),
    [
        (0, 300),  # just created: look once it is as old as a cluster takes to create
        (200, 100),
        (250, 60),  # never sooner than the plain interval
        (900, 60),  # older than expected: every interval
    ],
)
def test_a_creating_cluster_is_looked_at_again_when_it_is_likely_active(age_seconds, expected):
    settings = replace(SETTINGS, expected_creating_seconds=300)
    creating = observed(
        status="CREATING",
        enabled_log_types=frozenset(),
        created_at=NOW - timedelta(seconds=age_seconds),
    )
    assert make_plan(creating, settings, now=NOW).requeue_after == expected


def test_the_wait_for_a_creating_cluster_never_exceeds_what_sqs_can_delay():
    settings = replace(SETTINGS, expected_creating_seconds=3600)
    creating = observed(status="CREATING", enabled_log_types=frozenset(), created_at=NOW)
    assert make_plan(creating, settings, now=NOW).requeue_after == 900


@pytest.mark.parametrize("created_at", [None, datetime(2026, 12, 5, 11, 59)])  # unknown, or naive
def test_without_a_usable_creation_time_the_plain_interval_applies(created_at):
    creating = observed(status="CREATING", enabled_log_types=frozenset(), created_at=created_at)
    assert make_plan(creating, SETTINGS, now=NOW).requeue_after == 60


def test_a_follow_up_of_our_update_that_did_not_look_at_the_filters_changes_nothing():
    update = UpdateState("u-1", "Successful")
    followed = observed(update=update, filters=(), log_group_exists=True, filters_observed=False)
    plan = make_plan(followed, SETTINGS)
    assert (plan.verdict, plan.actions) == (Verdict.COMPLIANT, ())
    assert "u-1 Successful" in plan.reason
