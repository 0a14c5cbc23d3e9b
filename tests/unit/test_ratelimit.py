import pytest

from eks_audit import ratelimit
from eks_audit.quotas import DOCUMENTED_DEFAULTS, QuotaReading, Rate, choose_rates
from eks_audit.ratelimit import (
    CONTROLLER_SHARE,
    RateLimiter,
    TokenBucket,
    parse_rates,
    scaled,
    share_of_quota,
)


def rates_from_environment(environ, read_only=False):
    reading = QuotaReading({}, {}, "not read")
    return scaled(
        choose_rates(reading, parse_rates(environ.get("RATE_LIMITS", ""))), share_of_quota(read_only, environ)
    )


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


def test_the_controller_leaves_headroom_shared_between_concurrent_reconcilers_and_overrides_win():
    rates = rates_from_environment(
        {"CONCURRENT_RECONCILERS": "5", "RATE_LIMITS": "logs:PutSubscriptionFilter=0.5"}
    )
    expected = DOCUMENTED_DEFAULTS["eks:DescribeCluster"] * CONTROLLER_SHARE / 5
    assert rates["eks:DescribeCluster"].value == pytest.approx(expected)
    assert CONTROLLER_SHARE < 1.0
    assert rates["logs:PutSubscriptionFilter"] == Rate(0.5, "RATE_LIMITS", known=True)


def test_a_read_only_run_takes_the_whole_quota_but_a_margin_with_a_whole_second_of_burst():
    rates = rates_from_environment({"CONCURRENT_RECONCILERS": "5"}, read_only=True)
    quota = DOCUMENTED_DEFAULTS["logs:DescribeSubscriptionFilters"]
    assert rates["logs:DescribeSubscriptionFilters"].value == pytest.approx(quota * ratelimit.READ_ONLY_SHARE)
    assert 0.9 <= ratelimit.READ_ONLY_SHARE < 1.0  # whatever the number of reconcilers
    t = FakeTime()
    limiter = RateLimiter(rates, clock=t.clock, sleep=t.sleep)
    waits = [limiter.acquire("logs:DescribeSubscriptionFilters") for _ in range(int(quota) + 1)]
    assert waits[: int(quota)] == [0.0] * int(quota)  # AWS's full bucket: the quota's calls at once
    assert waits[-1] > 0


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("DescribeCluster=5", "expected service:Operation=rate"),
        ("eks:DescribeCluster=fast", "expected a number"),
        ("eks:DescribeCluster=0", "must be positive"),
        ("eks:DescribeCluster=nan", "must be positive"),
        ("logs:Nope=5", "logs:Nope: not an API eks-audit paces"),
    ],
)
def test_bad_rate_spec_names_the_problem(spec, named):
    with pytest.raises(ValueError, match="RATE_LIMITS") as raised:
        parse_rates(spec)
    assert named in str(raised.value)


# -- the adaptive rate (AIMD) -----------------------------------------------------------------


def adaptive(rate, known, t):
    limiter = RateLimiter(
        {"eks:DescribeCluster": Rate(rate, "test", known=known)}, clock=t.clock, sleep=t.sleep
    )
    return limiter


def run_at_full_speed(limiter, t, seconds, throttled=lambda now: False):
    """Call as fast as the limiter lets, answering each call (throttled or not) at once."""
    end = t.now + seconds
    calls = 0
    while t.now < end:
        limiter.acquire("eks:DescribeCluster")
        limiter.observe("eks:DescribeCluster", throttled(t.now))
        calls += 1
    return calls


def test_an_unknown_quota_is_probed_upwards_while_nothing_throttles_up_to_the_ceiling():
    t = FakeTime()
    limiter = adaptive(10, known=False, t=t)
    run_at_full_speed(limiter, t, 5)
    assert limiter.rate("eks:DescribeCluster") > 10
    run_at_full_speed(limiter, t, 120)
    assert limiter.rate("eks:DescribeCluster") == pytest.approx(10 * ratelimit.UNKNOWN_CEILING)


def test_a_known_quota_is_never_exceeded():
    t = FakeTime()
    limiter = adaptive(5, known=True, t=t)
    calls = run_at_full_speed(limiter, t, 20)
    assert limiter.rate("eks:DescribeCluster") == 5
    assert calls <= 5 + 20 * 5 + 1  # the burst, then the rate


def test_throttling_halves_the_rate_at_once_and_a_volley_counts_once():
    t = FakeTime()
    limiter = adaptive(8, known=False, t=t)
    limiter.observe("eks:DescribeCluster", True)
    assert limiter.rate("eks:DescribeCluster") == pytest.approx(8 * ratelimit.DECREASE)
    for _ in range(5):  # the answers to calls already in flight
        limiter.observe("eks:DescribeCluster", True)
    assert limiter.rate("eks:DescribeCluster") == pytest.approx(8 * ratelimit.DECREASE)
    assert limiter.throttled() == 6
    t.now += ratelimit.COOLDOWN_SECONDS
    limiter.observe("eks:DescribeCluster", True)
    assert limiter.rate("eks:DescribeCluster") == pytest.approx(8 * ratelimit.DECREASE**2)


def test_the_adaptive_rate_settles_around_a_true_quota_below_the_assumption():
    """AWS's quota is 4/s, unknown to us; we assume 10. The rate comes down to it and stays near."""
    t = FakeTime()
    limiter = adaptive(10, known=False, t=t)
    server = TokenBucket(rate=4, burst=4, clock=t.clock, sleep=lambda s: None)

    def over_quota(now):
        server._refill(now)
        if server.tokens >= 1:
            server.tokens -= 1
            return False
        return True

    calls = run_at_full_speed(limiter, t, 60, over_quota)
    throttled = limiter.throttled()
    assert 0.7 * 4 * 60 <= calls - throttled <= 4 * 60 + 4  # most of the quota used, never more
    assert throttled < calls * 0.25  # and the rest is not spent on throttled calls


def test_the_rate_never_falls_below_its_floor():
    t = FakeTime()
    limiter = adaptive(2, known=True, t=t)
    for _ in range(50):
        t.now += ratelimit.COOLDOWN_SECONDS
        limiter.observe("eks:DescribeCluster", True)
    assert limiter.rate("eks:DescribeCluster") >= 0.05


def test_a_botocore_client_reports_every_attempt_retries_included(monkeypatch):
    """A throttled attempt that botocore retries and then succeeds never reaches the caller: the
    limiter still hears of it. The answers are sent at botocore's `before-send` hook, so botocore's
    own retry loop runs (a Stubber would bypass it)."""
    import json

    import botocore.config
    import botocore.session
    from botocore.awsrequest import AWSResponse

    from eks_audit.aws import ClusterApi

    client = botocore.session.get_session().create_client(
        "eks",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    answers = [
        (429, {"x-amzn-ErrorType": "ThrottlingException"}, {"message": "Rate exceeded"}),
        (200, {}, {"cluster": {"name": "a"}}),
    ]

    class Raw:
        def __init__(self, body):
            self.body = body

        def stream(self, **_):
            yield self.body

    def answer(request, **_):
        status, headers, body = answers.pop(0)
        payload = json.dumps(body).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/json", **headers}, Raw(payload))

    client.meta.events.register("before-send.eks.DescribeCluster", answer)
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0)
    t = FakeTime()
    limiter = RateLimiter(
        {"eks:DescribeCluster": Rate(10, "test", known=False)}, clock=t.clock, sleep=t.sleep
    )
    seen = []
    real_observe = limiter.observe
    monkeypatch.setattr(
        limiter, "observe", lambda a, throttled: (seen.append(throttled), real_observe(a, throttled))
    )
    api = ClusterApi(client, object(), limiter=limiter)
    assert api.describe_cluster("a") == {"name": "a"}
    assert seen == [True, False]
    assert limiter.rate("eks:DescribeCluster") < 10


def test_a_client_that_does_not_report_is_observed_by_its_caller():
    """The emulated AWS's clients raise botocore's ClientError without botocore: ClusterApi tells
    the limiter itself."""
    from botocore.exceptions import ClientError

    from eks_audit.aws import ClusterApi

    class Eks:
        def describe_cluster(self, name):
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "DescribeCluster")

    t = FakeTime()
    limiter = RateLimiter(
        {"eks:DescribeCluster": Rate(10, "test", known=False)}, clock=t.clock, sleep=t.sleep
    )
    with pytest.raises(ClientError):
        ClusterApi(Eks(), object(), limiter=limiter).describe_cluster("a")
    assert limiter.throttled() == 1


@pytest.mark.parametrize("spec", ["logs:DescribeSubscriptionFilters=abc", "logs:Nope=5"])
def test_a_bad_rate_limits_is_one_line_and_exit_2_before_any_aws_call(spec):
    from click.testing import CliRunner

    from eks_audit_cli.main import cli

    result = CliRunner(env={"RATE_LIMITS": spec}).invoke(cli, ["status", "--region", "us-east-1"])
    assert result.exit_code == 2
    assert result.output.startswith("eks-audit: RATE_LIMITS: ") and "Traceback" not in result.output
