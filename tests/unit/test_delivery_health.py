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


class _CloudWatch:
    """Answers GetMetricData from a table of (namespace, metric name) -> values."""

    def __init__(self, values: dict[tuple[str, str], list[float]]):
        self.values = values

    def get_metric_data(self, MetricDataQueries, StartTime, EndTime):
        results = []
        for query in MetricDataQueries:
            metric = query["MetricStat"]["Metric"]
            results.append(
                {
                    "Id": query["Id"],
                    "Values": self.values.get((metric["Namespace"], metric["MetricName"]), []),
                }
            )
        return {"MetricDataResults": results}


def test_pipeline_names_failed_notifications_and_a_late_stream():
    from eks_audit_cli.delivery_health import pipeline

    health = pipeline(
        _CloudWatch(
            {
                ("AWS/Firehose", "DeliveryToS3.Success"): [1.0, 0.5],
                ("AWS/Firehose", "DeliveryToS3.DataFreshness"): [30.0, 1200.0],
                ("AWS/SNS", "NumberOfNotificationsDelivered"): [4.0],
                ("AWS/SNS", "NumberOfNotificationsFailed"): [2.0],
            }
        ),
        "stream",
        3600,
        topic_name="topic",
    )
    assert (health["s3_success"], health["data_freshness_s"], health["notifications_failed"]) == (
        0.75,
        1200.0,
        2,
    )
    assert "failed some writes" in health["problem"] and "1200 s behind" in health["problem"]
    assert "2 notifications" in health["problem"]
    assert pipeline(_CloudWatch({}), "stream", 3600)["problem"] is None  # no data: nothing wrong


def test_unreadable_delivery_metrics_are_a_problem_of_the_region_and_keep_its_clusters():
    """A GetMetricData that fails (throttled past its retries, say) costs the region its delivery
    figures, never its clusters: they stay with their verdicts, and the region has a problem."""
    from botocore.exceptions import ClientError

    from eks_audit.settings import Settings
    from eks_audit_cli.coverage import Row
    from eks_audit_cli.status import RegionStatus, add_delivery

    class ThrottledCloudWatch:
        def get_metric_data(self, **_kwargs):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetMetricData"
            )

    rows = [
        Row(
            "us-east-1", "payments", "ACTIVE", "on", "present", "ok", (), "compliant", "audit logging enabled"
        ),
    ]
    result = RegionStatus("us-east-1", rows=list(rows), stack="eks-audit")
    settings = Settings(
        firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit",
        logs_role_arn="arn:aws:iam::123456789012:role/logs",
    )
    add_delivery(ThrottledCloudWatch(), result, settings, 3600)
    assert result.rows == rows
    assert result.problem.startswith("delivery not read (cloudwatch:GetMetricData)")
    assert "ThrottlingException" in result.problem
