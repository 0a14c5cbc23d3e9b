import pytest

from eks_audit.ratelimit import DEFAULT_QUOTAS, RateLimiter, TokenBucket, parse_rates, rates_from_environment


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_paces_at_the_rate():
    t = FakeTime()
    bucket = TokenBucket(rate=5, burst=5, clock=t.clock, sleep=t.sleep)
    waits = [bucket.acquire() for _ in range(15)]
    assert waits[:5] == [0.0] * 5
    assert t.now == pytest.approx(2.0)  # ten more calls at 5 per second
    assert all(w > 0 for w in waits[5:])


def test_idle_time_refills_up_to_the_burst_only():
    t = FakeTime()
    bucket = TokenBucket(rate=2, burst=2, clock=t.clock, sleep=t.sleep)
    bucket.acquire()
    bucket.acquire()
    t.now += 100
    assert [bucket.acquire() for _ in range(3)][:2] == [0.0, 0.0]
    assert t.slept[-1] == pytest.approx(0.5)


def test_limiter_paces_known_apis_only():
    t = FakeTime()
    limiter = RateLimiter({"eks:DescribeCluster": 1}, burst=1, clock=t.clock, sleep=t.sleep)
    limiter.acquire("eks:DescribeCluster")
    limiter.acquire("eks:DescribeCluster")
    assert t.now == pytest.approx(1.0)
    assert limiter.acquire("sqs:SendMessage") == 0.0


def test_rates_share_the_quota_between_concurrent_reconcilers_and_accept_overrides():
    rates = rates_from_environment(
        {"CONCURRENT_RECONCILERS": "5", "RATE_LIMITS": "logs:PutSubscriptionFilter=0.5"}
    )
    assert rates["eks:DescribeCluster"] == pytest.approx(DEFAULT_QUOTAS["eks:DescribeCluster"] / 5)
    assert rates["logs:PutSubscriptionFilter"] == 0.5


def test_bad_rate_spec_names_the_problem():
    with pytest.raises(ValueError, match="RATE_LIMITS"):
        parse_rates("DescribeCluster=5")
