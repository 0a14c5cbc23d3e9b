"""The delivery judgement: delivered, idle, silent (by the pattern, by delivery errors)."""

import pytest

from eks_audit_cli.delivery_health import judge, parse_duration


@pytest.mark.parametrize(
    ("received", "forwarded", "errors", "throttled", "state", "said"),
    [
        (100, 40, 0, 0, "delivered", "40 of 100 events forwarded in the last 1h"),
        (100, 40, 0, 3, "delivered", "3 deliveries throttled"),
        (0, 0, 0, 0, "idle", "no log events in the last 1h"),
        (100, 0, 0, 0, "silent", "100 events received in the last 1h, none forwarded"),
        (100, 40, 5, 0, "silent", "5 events failed delivery"),
        (0, 0, 7, 0, "silent", "7 events failed delivery"),
    ],
)
def test_judge(received, forwarded, errors, throttled, state, said):
    delivery = judge(3600, received, forwarded, errors, throttled)
    assert delivery.state == state and said in delivery.reason


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172800), ("0", 0)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_a_bad_duration_says_what_is_expected():
    with pytest.raises(ValueError, match="30m, 1h"):
        parse_duration("an hour")
