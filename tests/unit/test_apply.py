"""apply_plan's answers to each AWS error, with a fake API (moto cannot produce these races)."""

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from eks_audit.apply import apply_plan
from eks_audit.model import Action, Plan, SubscriptionFilter, Verdict
from eks_audit.settings import Settings

SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit",
    logs_role_arn="arn:aws:iam::123456789012:role/logs",
    wait_updating_seconds=20,
    log_retention_days=7,
)
PLAN = Plan(
    "c",
    "us-east-1",
    Verdict.DRIFTED,
    "log group missing",
    (Action.CREATE_LOG_GROUP, Action.PUT_FILTER, Action.ENABLE_AUDIT),
)


def error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


class FakeApi:
    def __init__(self, **failures):
        self.failures = failures
        self.calls: list[str] = []
        self.filters = [SubscriptionFilter("a", "", "x"), SubscriptionFilter("b", "", "y")]

    def _call(self, name):
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    def create_log_group(self, cluster):
        self._call("create_log_group")

    def put_retention(self, cluster, days):
        self._call("put_retention")

    def put_filter(self, *args):
        self._call("put_filter")

    def enable_audit(self, cluster):
        self._call("enable_audit")
        return "update-1"

    def subscription_filters(self, cluster):
        self._call("subscription_filters")
        return self.filters


def test_all_actions_in_order_then_requeue_to_confirm():
    api = FakeApi()
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert api.calls == ["create_log_group", "put_retention", "put_filter", "enable_audit"]
    assert outcome.verdict is Verdict.PENDING
    assert outcome.update_id == "update-1"
    assert outcome.requeue_after == 20
    assert outcome.actions == PLAN.actions


def test_existing_log_group_is_fine_and_keeps_its_retention():
    api = FakeApi(create_log_group=error("ResourceAlreadyExistsException"))
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert "put_retention" not in api.calls
    assert outcome.verdict is Verdict.PENDING


def test_no_changes_needed_is_success():
    api = FakeApi(
        enable_audit=error("InvalidParameterException", "No changes needed for the logging config provided")
    )
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert outcome.verdict is Verdict.COMPLIANT
    assert outcome.requeue_after is None


@pytest.mark.parametrize(
    "failure",
    [
        error(
            "ResourceInUseException",
            "Cannot update because cluster c currently has update u in progress",
            409,
        ),
        error("InvalidRequestException", "Cluster 'c' is not in ACTIVE status"),
        error("ThrottlingException", "Rate exceeded"),
        error("ServerException", "boom", 500),
    ],
)
def test_busy_not_ready_or_throttled_means_requeue(failure):
    outcome = apply_plan(PLAN, FakeApi(enable_audit=failure), SETTINGS)
    assert outcome.verdict is Verdict.PENDING
    assert outcome.requeue_after == 20
    assert Action.ENABLE_AUDIT not in outcome.actions


def test_cluster_deleted_mid_reconcile_is_gone():
    outcome = apply_plan(
        PLAN, FakeApi(enable_audit=error("ResourceNotFoundException", "No cluster", 404)), SETTINGS
    )
    assert outcome.verdict is Verdict.GONE
    assert outcome.requeue_after is None


def test_limit_exceeded_race_is_a_conflict_naming_the_filters_and_audit_still_enabled():
    api = FakeApi(put_filter=error("LimitExceededException", "Resource limit exceeded."))
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert outcome.verdict is Verdict.CONFLICT
    assert outcome.foreign_filters == ("a", "b")
    assert "enable_audit" in api.calls


def test_filter_failure_stops_before_audit_logging():
    api = FakeApi(put_filter=error("InvalidParameterException", "Could not deliver test message to Firehose"))
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert outcome.verdict is Verdict.ERROR
    assert "Could not deliver test message" in outcome.reason
    assert "enable_audit" not in api.calls


def test_log_group_deleted_between_calls_requeues():
    outcome = apply_plan(PLAN, FakeApi(put_filter=error("ResourceNotFoundException")), SETTINGS)
    assert outcome.verdict is Verdict.PENDING


def test_access_denied_is_an_error():
    outcome = apply_plan(
        replace(PLAN, actions=(Action.ENABLE_AUDIT,)),
        FakeApi(enable_audit=error("AccessDeniedException", "not authorized")),
        SETTINGS,
    )
    assert outcome.verdict is Verdict.ERROR
    assert "AccessDeniedException" in outcome.reason


def test_a_refused_filter_pattern_is_a_permanent_error_and_audit_waits_for_the_filter():
    api = FakeApi(put_filter=error("InvalidParameterException", "Invalid filter pattern"))
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert outcome.verdict is Verdict.ERROR and outcome.permanent
    assert "CloudWatch Logs refused subscription filter 'eks-audit'" in outcome.reason
    assert "Invalid filter pattern" in outcome.reason and "FilterPattern" in outcome.reason
    assert "enable_audit" not in api.calls


def test_a_refused_test_message_names_the_destination_not_the_pattern():
    message = "Could not deliver test message to specified Firehose stream. Check if the given Firehose stream is in ACTIVE state."
    outcome = apply_plan(PLAN, FakeApi(put_filter=error("InvalidParameterException", message)), SETTINGS)
    assert outcome.verdict is Verdict.ERROR and outcome.permanent
    assert outcome.reason.startswith("the destination refused CloudWatch Logs' test message")
    assert SETTINGS.firehose_arn in outcome.reason and "FilterPattern" not in outcome.reason


def test_no_changes_needed_is_not_a_refusal():
    api = FakeApi(enable_audit=error("InvalidParameterException", "No changes needed for the logging config"))
    outcome = apply_plan(PLAN, api, SETTINGS)
    assert outcome.verdict is Verdict.COMPLIANT and not outcome.permanent
