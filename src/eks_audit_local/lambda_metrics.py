"""Lambda's per-function metrics for the functions the local cloud runs in-process: each invocation
counts in AWS/Lambda Invocations, a failed one in Errors too, with the dimension FunctionName
(lambda/latest/dg/monitoring-metrics-types.html), so that what reads them (eks-audit doctor's last
sweep) reads them as in AWS."""

from __future__ import annotations

import boto3


def record(region: str, function: str, *, failed: bool) -> None:
    """Count one invocation of `function` (the local cloud's endpoint comes from the environment)."""
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    dimensions = [{"Name": "FunctionName", "Value": function}]
    data = [{"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"}]
    if failed:
        data.append({"MetricName": "Errors", "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"})
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)
