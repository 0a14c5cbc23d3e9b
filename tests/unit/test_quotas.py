"""Reading the rates from Service Quotas, and falling back when it cannot answer. The answers are
stubbed with botocore's Stubber, which checks them against the service's own model."""

import botocore.session
import pytest
from botocore.stub import Stubber

from eks_audit import ratelimit
from eks_audit.quotas import (
    DOCUMENTED_DEFAULTS,
    QuotaReading,
    choose_rates,
    quota_name,
    rates_for_region,
    read_quotas,
)


def quota(name, value, code="L-00000000"):
    return {
        "ServiceCode": "logs",
        "ServiceName": "Amazon CloudWatch Logs",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:logs/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": value,
        "Unit": "None",
        "Adjustable": False,
        "GlobalQuota": False,
    }


@pytest.fixture
def service_quotas():
    client = botocore.session.get_session().create_client(
        "service-quotas", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_the_quota_names_are_those_service_quotas_gives_cloudwatch_logs():
    assert quota_name("logs:DescribeSubscriptionFilters") == (
        "DescribeSubscriptionFilters throttle limit in transactions per second"
    )
    assert quota_name("eks:DescribeCluster") is None  # EKS publishes no request quota


def test_applied_values_come_first_then_defaults_for_what_is_missing(service_quotas):
    client, stub = service_quotas
    wanted = {"ServiceCode": "logs"}
    stub.add_response(
        "list_service_quotas",
        {
            "Quotas": [quota("CreateLogGroup throttle limit in transactions per second", 12.0)],
            "NextToken": "page-2",
        },
        wanted,
    )
    stub.add_response(
        "list_service_quotas",
        {"Quotas": [quota("PutSubscriptionFilter  throttle limit in transactions per second", 9.0)]},
        {**wanted, "NextToken": "page-2"},
    )
    stub.add_response(
        "list_aws_default_service_quotas",
        {
            "Quotas": [
                quota("DescribeSubscriptionFilters throttle limit in transactions per second", 7.0),
                quota("CreateLogGroup throttle limit in transactions per second", 5.0),
            ]
        },
        wanted,
    )
    rates = choose_rates(read_quotas(client))
    assert rates["logs:CreateLogGroup"].value == 12.0
    assert "applied quota" in rates["logs:CreateLogGroup"].source
    assert rates["logs:PutSubscriptionFilter"].value == 9.0  # matched despite AWS's double space
    assert rates["logs:DescribeSubscriptionFilters"].value == 7.0
    assert "AWS default quota" in rates["logs:DescribeSubscriptionFilters"].source
    assert all(rates[api].known for api in ("logs:CreateLogGroup", "logs:DescribeSubscriptionFilters"))
    # listed nowhere: the documented default, said so, and adaptive rather than a ceiling
    retention = rates["logs:PutRetentionPolicy"]
    assert (retention.value, retention.known) == (DOCUMENTED_DEFAULTS["logs:PutRetentionPolicy"], False)
    assert "lists no such quota" in retention.source
    assert rates["eks:DescribeCluster"].source == "documented default: the service publishes no quota"


def test_no_default_lookup_when_every_applied_value_is_there(service_quotas):
    client, stub = service_quotas
    names = [quota_name(api) for api in DOCUMENTED_DEFAULTS if api.startswith("logs:")]
    stub.add_response(
        "list_service_quotas", {"Quotas": [quota(n, 20.0) for n in names]}, {"ServiceCode": "logs"}
    )
    reading = read_quotas(client)
    assert reading.defaults == {}
    assert all(rate.value == 20.0 for api, rate in choose_rates(reading).items() if api.startswith("logs:"))


def test_missing_permission_falls_back_to_the_defaults_and_says_why(service_quotas):
    client, stub = service_quotas
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        stub.add_client_error(
            operation,
            "AccessDeniedException",
            "User is not authorized to perform servicequotas:ListServiceQuotas",
        )
    rates = choose_rates(read_quotas(client))
    logs = rates["logs:DescribeSubscriptionFilters"]
    assert logs.value == DOCUMENTED_DEFAULTS["logs:DescribeSubscriptionFilters"]
    assert "AccessDeniedException" in logs.fallback and "AccessDeniedException" in logs.source


def test_an_unreachable_service_quotas_never_fails_the_caller():
    class Unreachable:
        def get_paginator(self, _name):
            raise OSError("Could not connect to the endpoint URL")

    rates = choose_rates(read_quotas(Unreachable()))
    assert rates["logs:PutSubscriptionFilter"].fallback.startswith("Service Quotas unreachable")
    # and no client at all (no credentials) is the same
    broken = rates_for_region(
        lambda region: (_ for _ in ()).throw(RuntimeError("no credentials")), "eu-west-1"
    )
    assert "no credentials" in broken["logs:CreateLogGroup"].fallback


def test_overrides_win_over_the_account():
    reading = QuotaReading({"putsubscriptionfilter throttle limit in transactions per second": 5.0}, {})
    rates = choose_rates(reading, {"logs:PutSubscriptionFilter": 1.5, "sqs:SendMessage": 3.0})
    assert (rates["logs:PutSubscriptionFilter"].value, rates["logs:PutSubscriptionFilter"].source) == (
        1.5,
        "RATE_LIMITS",
    )
    assert rates["sqs:SendMessage"].value == 3.0


def test_the_shared_limiter_reads_once_per_region_and_reports_what_it_chose(monkeypatch):
    ratelimit.reset()
    asked, reported = [], []

    class Quotas:
        def get_paginator(self, name):
            asked.append(name)
            raise OSError("down")

    monkeypatch.delenv("RATE_LIMITS", raising=False)
    monkeypatch.setenv("CONCURRENT_RECONCILERS", "2")
    try:
        first = ratelimit.shared(
            "eu-west-1", quota_client=lambda r: Quotas(), on_created=lambda r, lim: reported.append(r)
        )
        again = ratelimit.shared(
            "eu-west-1", quota_client=lambda r: Quotas(), on_created=lambda r, lim: reported.append(r)
        )
        read_only = ratelimit.shared("eu-west-1", read_only=True, quota_client=lambda r: Quotas())
    finally:
        ratelimit.reset()
    assert first is again and read_only is not first
    assert reported == ["eu-west-1"]
    assert first.rate("logs:PutSubscriptionFilter") == pytest.approx(5.0 * ratelimit.CONTROLLER_SHARE / 2)
    assert read_only.rate("logs:PutSubscriptionFilter") == pytest.approx(5.0 * ratelimit.READ_ONLY_SHARE)
    assert first.fallbacks() == {"Service Quotas unreachable: down"}
    assert any("logs:PutSubscriptionFilter 2/s (40% of 5/s" in line for line in first.describe())
