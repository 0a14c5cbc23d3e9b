import pytest

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.settings import SettingsError, load_settings

FIREHOSE = "arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit"
ROLE = "arn:aws:iam::123456789012:role/eks-audit-logs"
BASE = {"FIREHOSE_ARN": FIREHOSE, "LOGS_ROLE_ARN": ROLE}


def test_defaults():
    settings = load_settings(BASE)
    assert settings.filter_pattern == STANDARD_FILTER_PATTERN
    assert settings.filter_name == "eks-audit"
    assert settings.log_retention_days is None
    assert settings.subscription_filter_limit == 2


def test_every_variable_is_read():
    settings = load_settings(
        {
            **BASE,
            "FILTER_NAME": "audit-to-lacework",
            "FILTER_PATTERN": "",
            "INCLUDE_CLUSTERS": "prod-.*",
            "EXCLUDE_CLUSTERS": "prod-sandbox",
            "LOG_RETENTION_DAYS": "90",
            "SUBSCRIPTION_FILTER_LIMIT": "5",
            "WAIT_CREATING_SECONDS": "120",
            "WAIT_UPDATING_SECONDS": "15",
            "RECONCILE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        }
    )
    assert settings.filter_name == "audit-to-lacework"
    assert settings.filter_pattern == ""
    assert settings.log_retention_days == 90
    assert settings.subscription_filter_limit == 5
    assert (settings.wait_creating_seconds, settings.wait_updating_seconds) == (120, 15)
    assert settings.name_in_scope("prod-payments")
    assert not settings.name_in_scope("prod-sandbox")
    assert not settings.name_in_scope("dev-payments")
    assert not settings.name_in_scope("xprod-a")  # the whole name must match


@pytest.mark.parametrize(
    ("changes", "variable", "expected"),
    [
        ({"FIREHOSE_ARN": None}, "FIREHOSE_ARN", "missing"),
        ({"FIREHOSE_ARN": "not-an-arn"}, "FIREHOSE_ARN", "'not-an-arn'"),
        ({"LOGS_ROLE_ARN": ""}, "LOGS_ROLE_ARN", "missing"),
        ({"FILTER_PATTERN": "x" * 1025}, "FILTER_PATTERN", "at most 1024 characters"),
        ({"INCLUDE_CLUSTERS": "("}, "INCLUDE_CLUSTERS", "regular expression"),
        ({"LOG_RETENTION_DAYS": "8"}, "LOG_RETENTION_DAYS", "one of 1, 3, 5"),
        ({"LOG_RETENTION_DAYS": "week"}, "LOG_RETENTION_DAYS", "'week'"),
        ({"WAIT_CREATING_SECONDS": "-5"}, "WAIT_CREATING_SECONDS", "whole number"),
    ],
)
def test_bad_values_name_the_variable(changes, variable, expected):
    environ = {**BASE, **changes}
    environ = {key: value for key, value in environ.items() if value is not None}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: expected")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "pattern",
    ["[a, b]", "{ $.a = }", "{ $.['cluster.name'] = c }", "%something!%", '" "'],
)
def test_any_pattern_is_accepted_for_aws_to_judge(pattern):
    """Our evaluator is not the authority: PutSubscriptionFilter's answer is (never stricter than AWS)."""
    assert load_settings({**BASE, "FILTER_PATTERN": pattern}).filter_pattern == pattern


def test_empty_retention_means_unset():
    assert load_settings({**BASE, "LOG_RETENTION_DAYS": ""}).log_retention_days is None


def test_each_covered_region_has_its_own_stream_and_role():
    settings = load_settings(
        {**BASE, "SPOKE_REGIONS": "eu-west-1, ap-south-1", "SPOKE_NAME_PREFIX": "eks-audit-1a2b"}
    )
    home = settings.home_region
    assert settings.covered_regions == (home, "eu-west-1", "ap-south-1")
    assert settings.for_region(home) is settings
    eu = settings.for_region("eu-west-1")
    assert eu.firehose_arn.split(":")[3] == "eu-west-1" and eu.firehose_arn.endswith("/eks-audit-1a2b-audit")
    assert eu.logs_role_arn.endswith(":role/eks-audit-1a2b-spoke-logs")
    assert settings.for_region("us-west-2") is None


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"SPOKE_REGIONS": "eu-west-1,moon"}, "SPOKE_REGIONS"),
        ({"SPOKE_REGIONS": "eu-west-1"}, "SPOKE_NAME_PREFIX"),
    ],
)
def test_spoke_settings_are_checked(changes, variable):
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, **changes})
    assert caught.value.variable == variable
