"""`make bench`: scale, steady-state cost, cold start and filter-test speed, measured side by side.

Writes benchmarks/results/latest.json and prints a summary. Timings are wall-clock on a shared
machine: compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml

from eks_audit.aws import ClusterApi
from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.filter_pattern import compile_pattern
from eks_audit.model import Verdict
from eks_audit.reconcile import reconcile
from eks_audit.settings import Settings
from eks_audit_cli.backfill import reconcile_until_settled
from eks_audit_cli.filter_test import Breakdown, Tally, evaluate
from eks_audit_local.audit_lines import generate
from eks_audit_local.emulated import EmulatedAws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from custodian import bench_custodian
from org_scale import bench_status_org_scale
from organization import bench_status_org
from timelines import (
    LATENCY,
    REGIONS,
    SCALE,
    WRITE_RATES,
    account,
    bench_backfill_async,
    bench_backfill_local,
    bench_burst,
    bench_pacing,
    bench_sweeper_dry_run,
    bench_time_to_coverage,
    paced_backfill,
    paced_bound,
    per_region_calls,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
CLUSTERS_PER_REGION = 100
SETTINGS = Settings(
    firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit",
    logs_role_arn="arn:aws:iam::123456789012:role/eks-audit-logs",
    wait_creating_seconds=0,
    wait_updating_seconds=0,
)


def emulated_account() -> EmulatedAws:
    return account(CLUSTERS_PER_REGION, REGIONS)


def quota_bound(aws: EmulatedAws) -> float:
    """Lower bound: regions in parallel, each as slow as its slowest API at the rate the CLI's
    backfill paces it to (its share of the quota; the emulated AWS, like AWS, lets a second's worth
    of calls through at once)."""
    return max(paced_bound(per_region_calls(aws, region), WRITE_RATES) for region in REGIONS)


def all_compliant(aws: EmulatedAws) -> bool:
    api_for = {r: ClusterApi(aws.eks(r), aws.logs(r)) for r in REGIONS}
    checks = [
        reconcile(api_for[r], SETTINGS, name, r, dry_run=True).verdict
        for r in REGIONS
        for name in aws.region(r).clusters
    ]
    return all(v is Verdict.COMPLIANT for v in checks)


def bench_backfill() -> dict:
    ours = emulated_account()
    results, wall = paced_backfill(ours, SETTINGS)
    bound = quota_bound(ours)
    throttled = sum(ours.throttled.values())
    assert len(results) == len(REGIONS) * CLUSTERS_PER_REGION
    ours_ok = all(r.outcome.verdict is Verdict.COMPLIANT for r in results)

    naive = emulated_account()
    start = time.perf_counter()
    for region in REGIONS:  # the straightforward way: one cluster after another, no pacing
        api = ClusterApi(naive.eks(region), naive.logs(region))
        for name in sorted(naive.region(region).clusters):
            reconcile_until_settled(
                api,
                SETTINGS,
                name,
                region,
                dry_run=False,
                deadline=time.monotonic() + 60,
                sleep=lambda s: None,
            )
    naive_wall = time.perf_counter() - start
    return {
        "clusters": len(REGIONS) * CLUSTERS_PER_REGION,
        "regions": len(REGIONS),
        "quota_scale": SCALE,
        "latency_ms": LATENCY * 1000,
        "calls": sum(ours.calls.values()),
        "throttled_calls": throttled,
        "all_compliant": ours_ok and all_compliant(ours),
        "wall_s": round(wall, 3),
        "quota_bound_s": round(bound, 3),
        "ratio_to_quota_bound": round(wall / bound, 3),
        "naive_wall_s": round(naive_wall, 3),
        "naive_speedup": round(naive_wall / wall, 2),
    }


def bench_steady_state() -> dict:
    aws = EmulatedAws({}, latency=0)
    region = "us-east-1"
    for index in range(200):
        aws.add_cluster(region, f"c-{index:03d}")
    api = ClusterApi(aws.eks(region), aws.logs(region))
    for name in list(aws.region(region).clusters):
        reconcile_until_settled(api, SETTINGS, name, region, dry_run=False, deadline=time.monotonic() + 10)
    aws.calls.clear()
    for name in list(aws.region(region).clusters):  # one sweep over compliant clusters
        assert reconcile(api, SETTINGS, name, region).verdict is Verdict.COMPLIANT
    reads, writes = aws.reads(), aws.writes()
    aws.add_cluster(region, "new")
    aws.calls.clear()
    reconcile_until_settled(api, SETTINGS, "new", region, dry_run=False, deadline=time.monotonic() + 10)
    onboarding = Counter(api_name for (_, api_name) in aws.calls.elements())
    return {
        "reads_per_compliant_cluster": reads / 200,
        "writes_per_compliant_cluster": writes / 200,
        "calls_to_onboard_one_cluster": sum(onboarding.values()),
        "onboarding_calls": dict(sorted(onboarding.items())),
    }


# us-east-1, arm64 (aws.amazon.com/lambda/pricing, /sqs/pricing, /eventbridge/pricing): the
# per-request and per-GB-second prices the running cost is worked out at
RUNNING_PRICES = {
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000133334,
    "sqs_per_million_requests": 0.40,
    "eventbridge_aws_service_events_per_million": 0.0,  # AWS's events on the default bus are free
}
RECONCILER_MEMORY_GB = 0.25  # template.yaml's MemorySize: 256
SWEEPS_A_MONTH = 4 * 30  # SweepSchedule's default, rate(6 hours)


def running_cost(burst: dict, steady: dict, per: int = 1000) -> dict:
    """What eks-audit itself costs per `per` clusters, from the benchmarks' counts: onboarding them
    (the burst's counts, scaled) and a month at rest (a sweep every 6 hours: one message and the
    steady state's reads per cluster, each message costing what the burst's messages cost).
    SQS requests: the message sent (by EventBridge or the function), and per invocation one receive
    and one delete batch; the event source's empty polls are not counted."""
    scale = per / burst["clusters"]
    seconds_per_message = burst["reconciler_seconds"] / burst["messages_processed"]
    messages_per_invocation = burst["messages_processed"] / burst["reconciler_invocations"]

    def figures(messages: float, invocations: float, seconds: float, events: float, calls: float) -> dict:
        sqs = messages + 2 * invocations
        dollars = (
            invocations / 1e6 * RUNNING_PRICES["lambda_per_million_requests"]
            + seconds * RECONCILER_MEMORY_GB * RUNNING_PRICES["lambda_per_gb_second"]
            + sqs / 1e6 * RUNNING_PRICES["sqs_per_million_requests"]
            + events / 1e6 * RUNNING_PRICES["eventbridge_aws_service_events_per_million"]
        )
        return {
            "lambda_invocations": round(invocations),
            "lambda_gb_seconds": round(seconds * RECONCILER_MEMORY_GB, 1),
            "sqs_requests": round(sqs),
            "eventbridge_events": round(events),
            "api_calls": round(calls),
            "usd": round(dollars, 4),
        }

    onboarding = figures(
        burst["messages_processed"] * scale,
        burst["reconciler_invocations"] * scale,
        burst["reconciler_seconds"] * scale,
        burst["cloudtrail_events_routed"] * scale,
        sum(burst["api_calls"].values()) * scale,
    )
    rest_messages = per * SWEEPS_A_MONTH
    at_rest = figures(
        rest_messages,
        rest_messages / messages_per_invocation,
        rest_messages * seconds_per_message,
        0,
        per
        * SWEEPS_A_MONTH
        * (steady["reads_per_compliant_cluster"] + steady["writes_per_compliant_cluster"]),
    )
    return {
        "per_clusters": per,
        "onboarding": onboarding,
        "a_month_at_rest": at_rest,
        "prices": RUNNING_PRICES,
    }


def bench_cold_start(runs: int = 7) -> dict:
    spec = importlib.util.spec_from_file_location("check_build", ROOT / "scripts" / "check_build.py")
    check_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_build)
    python = os.environ.get("PY313", "python3.13")
    template = yaml.load((check_build.BUILD / "template.yaml").read_text(), Loader=check_build._Loader)
    layer = check_build.BUILD / "RuntimeLayer" / "python"
    report: dict = {
        "layer_bytes": check_build.directory_size(check_build.BUILD / "RuntimeLayer"),
        "runs": runs,
    }
    for name, (code, module, attribute) in check_build.functions(template).items():
        fresh = [
            check_build.import_ms(python, code, layer, module, attribute, fresh_bytecode=True)
            for _ in range(runs)
        ]
        check_build.import_ms(python, code, layer, module, attribute, fresh_bytecode=False)  # writes .pyc
        cached = [
            check_build.import_ms(python, code, layer, module, attribute, fresh_bytecode=False)
            for _ in range(runs)
        ]
        report[name] = {
            "median_ms_without_pyc": round(statistics.median(fresh), 1),
            "median_ms_with_pyc": round(statistics.median(cached), 1),
            "package_bytes": check_build.directory_size(code),
        }
    return report


def bench_filter_test(count: int = 200_000) -> dict:
    lines = [line.text.encode() for line in generate(count, seed=5)]
    pattern = compile_pattern(STANDARD_FILTER_PATTERN)
    start = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    parse = time.perf_counter() - start
    start = time.perf_counter()
    tally = Tally()
    evaluate(pattern, lines, tally, Breakdown())
    full = time.perf_counter() - start
    return {
        "lines": count,
        "kept": tally.kept,
        "lines_per_second": round(count / full),
        "bare_json_parse_lines_per_second": round(count / parse),
        "ratio_evaluation_to_bare_parse": round(full / parse, 2),
    }


def main() -> int:
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
    }
    for name, bench in (
        ("filter_test", bench_filter_test),
        ("steady_state", bench_steady_state),
        ("backfill", bench_backfill),
        ("backfill_async", bench_backfill_async),
        ("backfill_local", bench_backfill_local),
        ("pacing", bench_pacing),
        ("custodian", bench_custodian),
        ("sweeper_dry_run", bench_sweeper_dry_run),
        ("time_to_coverage", bench_time_to_coverage),
        ("burst", bench_burst),
        ("status_org", bench_status_org),
        ("status_org_scale", bench_status_org_scale),
        ("cold_start_ms", bench_cold_start),
    ):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = bench()
    results["running_cost"] = running_cost(results["burst"], results["steady_state"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    b, s, f, c = (
        results["backfill"],
        results["steady_state"],
        results["filter_test"],
        results["cold_start_ms"],
    )
    print(
        f"backfill: {b['clusters']} clusters / {b['regions']} regions in {b['wall_s']} s; quota bound "
        f"{b['quota_bound_s']} s (x{b['ratio_to_quota_bound']}); naive {b['naive_wall_s']} s "
        f"(speedup x{b['naive_speedup']}); throttled calls {b['throttled_calls']}"
    )
    print(
        f"steady state: {s['reads_per_compliant_cluster']} reads, {s['writes_per_compliant_cluster']} writes "
        f"per compliant cluster; {s['calls_to_onboard_one_cluster']} calls to onboard one"
    )
    print(
        f"filter-test: {f['lines_per_second']} lines/s (x{f['ratio_evaluation_to_bare_parse']} of bare parsing)"
    )
    a, p, t, u = results["backfill_async"], results["pacing"], results["time_to_coverage"], results["burst"]
    print(
        f"backfill_async: {a['clusters']} clusters in {a['wall_s']} s, bound {a['bound_s']} s (x{a['ratio']}); "
        f"naive sequential {a['naive_sequential_s_extrapolated']} s (extrapolated)"
    )
    local = results["backfill_local"]
    print(
        f"backfill on the local cloud: {local['clusters']} clusters in {local['wall_s']} s, bound {local['bound_s']} s "
        f"(x{local['ratio']}; before: {local['before_this_change_s']} s)"
    )
    print(
        f"pacing: {p['small_clusters']} clusters x{p['small_ratio']} of unpaced; {p['large_clusters']} clusters "
        f"{p['large_paced_s']} s, bound {p['large_quota_bound_s']} s, throttled {p['large_throttled_calls']}"
    )
    print(
        f"time to coverage: ACTIVE -> update issued {t['active_to_update_issued_s']} s (goal <= {t['goal_at_most_s']}), "
        f"CreateCluster -> first line in S3 {t['create_to_first_audit_line_in_s3_s']} s, "
        f"{t['calls_while_creating']} calls while CREATING"
    )
    print(
        f"burst: {u['clusters']} clusters, all compliant {u['all_compliant']}, {u['wall_s']} s (bound {u['bound_s']} s), "
        f"{u['messages_per_onboarded_cluster']} messages per cluster ({u['echoes_dropped_per_cluster']} echoes dropped), "
        f"max concurrency {u['max_concurrent_invocations']}/{u['concurrency_cap']}, dead-lettered {u['dead_lettered']}"
    )
    for name in ("ReconcilerFunction", "SweeperFunction"):
        print(
            f"cold start {name}: {c[name]['median_ms_without_pyc']} ms without .pyc, "
            f"{c[name]['median_ms_with_pyc']} ms with"
        )
    k, w = results["custodian"], results["sweeper_dry_run"]
    for size in ("small", "large"):
        side = k[size]
        print(
            f"status vs Cloud Custodian, {side['clusters']} clusters: {side['eks_audit_wall_s']} s against "
            f"{side['custodian_wall_s']} s (ratio {side['ratio']}), throttling errors shown "
            f"{side['eks_audit_throttling_errors_shown']}, both right {side['both_right']}"
        )
    print(
        f"sweeper dry run: {w['clusters']} clusters in {w['wall_s']} s, bound {w['bound_s']} s (x{w['ratio']}), "
        f"throttled by the cloud {w['throttled_by_the_cloud']}"
    )
    o = results["status_org"]
    print(
        f"status --org: {o['accounts']} accounts x {o['clusters_per_account']} clusters in "
        f"{o['concurrent_median_s']} s, one account at a time {o['one_at_a_time_median_s']} s "
        f"(x{o['ratio_concurrent_to_one_at_a_time']})"
    )
    g = results["status_org_scale"]
    h = g["headline"]
    print(
        f"status --org at scale: {h['accounts']} accounts x {h['regions']} regions x {h['clusters_per_region']} "
        f"clusters in {h['wall_s']} s, bound {h['bound_s']} s at {h['bound_at_once']} at once (x{h['ratio_to_bound']}), "
        f"{h['calls']} calls, {h['throttled']} throttled, peak {h['peak_rss_mib']} MiB for {h['output_mib']} MiB of output"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
