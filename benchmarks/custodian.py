"""Side by side with Cloud Custodian: `eks-audit status` and Cloud Custodian's equivalent report
policies on the same local cloud, which enforces AWS's API quotas (quotas_overlay.py), interleaved,
on the same cluster mix. Both run as the commands a user types, in their own processes.

Cloud Custodian is pinned in a virtual environment of its own (.venv-custodian, from
requirements/custodian.txt), installed here on first use. Its policies: the EKS clusters without the
audit log type, and the EKS log groups without a subscription filter to our stream (two policies,
as eks-audit's status answers both questions).

Run alone: `python benchmarks/custodian.py` (after `make venv`); `make bench` runs it with the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections import Counter
from contextlib import suppress
from pathlib import Path

from eks_audit.settings import load_settings
from eks_audit_local.server import LocalCloud, Timings

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-custodian"
REQUIREMENTS = ROOT / "requirements" / "custodian.txt"
EKS_AUDIT = Path(sys.executable).parent / "eks-audit"
ROLE = "arn:aws:iam::123456789012:role/eks"
POLICY = """
policies:
  - name: eks-audit-logging-off
    resource: aws.eks
    filters:
      - type: value
        key: "logging.clusterLogging[?enabled].types[] | contains(@, 'audit')"
        value: false
  - name: eks-audit-not-subscribed
    resource: aws.log-group
    filters:
      - type: value
        key: logGroupName
        op: glob
        value: "/aws/eks/*/cluster"
      - not:
          - type: subscription-filter
            key: destinationArn
            value: "{destination}"
"""


def ensure_custodian() -> Path:
    """Cloud Custodian in .venv-custodian, reinstalled when its requirements change."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        print(f"installing Cloud Custodian into {VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        subprocess.run(
            [
                VENV / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                REQUIREMENTS,
            ],
            check=True,
        )
        stamp.touch()
    return VENV / "bin" / "custodian"


def kind_of(index: int) -> str:
    """The cluster mix: one in ten has audit logging off, one in ten lacks our filter."""
    return {0: "audit-off", 5: "no-filter"}.get(index % 10, "compliant")


def populate(cloud: LocalCloud, count: int) -> Counter:
    """`count` ACTIVE clusters with their log groups, set up with the quotas lifted (the setup is not
    what is measured), then the quotas enforced again."""
    settings = load_settings(cloud.stack.function_environment)
    eks, logs = cloud.client("eks"), cloud.client("logs")
    cloud.quotas.enforcing = False
    kinds: Counter = Counter()
    for index in range(count):
        name, kind = f"cluster-{index:03d}", kind_of(index)
        kinds[kind] += 1
        enabled = kind != "audit-off"
        eks.create_cluster(
            name=name,
            roleArn=ROLE,
            resourcesVpcConfig={},
            logging={"clusterLogging": [{"types": ["audit"], "enabled": enabled}]},
        )
        group = f"/aws/eks/{name}/cluster"
        with suppress(logs.exceptions.ResourceAlreadyExistsException):  # EKS makes it once ACTIVE
            logs.create_log_group(logGroupName=group)
        if kind != "no-filter":
            logs.put_subscription_filter(
                logGroupName=group,
                filterName=settings.filter_name,
                filterPattern=settings.filter_pattern,
                destinationArn=settings.firehose_arn,
                roleArn=settings.logs_role_arn,
            )
    names = [f"cluster-{index:03d}" for index in range(count)]
    assert cloud.wait_until(
        lambda: all(eks.describe_cluster(name=n)["cluster"]["status"] == "ACTIVE" for n in names), 120
    )
    cloud.quotas.enforcing = True
    return kinds


def environment(cloud: LocalCloud, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RATE_LIMITS"))},
        "AWS_ACCESS_KEY_ID": "operator",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": cloud.region,
        "AWS_ENDPOINT_URL": cloud.endpoint,
        **extra,
    }


def measured(cloud: LocalCloud, command: list[str], env: dict[str, str]) -> dict:
    """Run one command: wall and CPU time, its AWS calls and how many the quotas refused."""
    time.sleep(2)  # the quotas' buckets refill between runs (one second of burst)
    calls_before = Counter(cloud.gateway.calls)
    throttled_before = sum(cloud.quotas.throttled.values())
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    calls = Counter(cloud.gateway.calls)
    calls.subtract(calls_before)
    shown = done.stdout + done.stderr
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(
            (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime), 2
        ),
        "exit_code": done.returncode,
        "calls": sum(calls.values()),
        "throttled_by_the_cloud": sum(cloud.quotas.throttled.values()) - throttled_before,
        "throttling_errors_shown": sum(
            shown.count(word) for word in ("ThrottlingException", "Rate exceeded")
        ),
        "stdout": done.stdout,
        "stderr_tail": done.stderr[-600:],
    }


def ours(cloud: LocalCloud, expected: Counter, **extra: str) -> dict:
    run = measured(
        cloud,
        [str(EKS_AUDIT), "--json", "status", "--region", cloud.region, "--endpoint-url", cloud.endpoint],
        environment(cloud, **extra),
    )
    summary = json.loads(run.pop("stdout") or "{}").get("summary", {})
    run["right_answer"] = summary.get("compliant") == expected["compliant"] and sum(summary.values()) == sum(
        expected.values()
    )
    return run


def theirs(cloud: LocalCloud, custodian: Path, expected: Counter, policy: Path) -> dict:
    with tempfile.TemporaryDirectory() as output:
        run = measured(
            cloud,
            [
                str(custodian),
                "run",
                "--cache-period",
                "0",
                "--region",
                cloud.region,
                "-s",
                output,
                str(policy),
            ],
            environment(cloud),
        )
        run.pop("stdout")
        found = {}
        for name in ("eks-audit-logging-off", "eks-audit-not-subscribed"):
            path = Path(output) / name / "resources.json"
            found[name] = len(json.loads(path.read_text())) if path.exists() else None
    run["found"] = found
    run["right_answer"] = found == {
        "eks-audit-logging-off": expected["audit-off"],
        "eks-audit-not-subscribed": expected["no-filter"],
    }
    return run


def compare(count: int, repeats: int, custodian: Path, with_unpaced: bool = False) -> dict:
    """A fresh local cloud with `count` clusters; eks-audit and Cloud Custodian take turns."""
    cloud = LocalCloud(
        port=0, timings=Timings(creating=0.2, update=0.5, sweep_interval=0), controller_enabled=False
    )
    cloud.start()
    try:
        expected = populate(cloud, count)
        destination = load_settings(cloud.stack.function_environment).firehose_arn
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
            handle.write(POLICY.format(destination=destination))
            policy = Path(handle.name)
        runs: dict[str, list[dict]] = {
            "eks_audit": [],
            "custodian": [],
            "eks_audit_unpaced": [],
            "eks_audit_at_the_quota": [],
        }
        for repeat in range(repeats):
            print(f"  {count} clusters, round {repeat + 1}/{repeats}", file=sys.stderr, flush=True)
            runs["eks_audit"].append(ours(cloud, expected))
            runs["custodian"].append(theirs(cloud, custodian, expected, policy))
            if with_unpaced and repeat == 0:
                # the client-side pacing lifted: botocore's adaptive retry mode alone meets the quotas
                lifted = ",".join(f"{api}=1000" for api in _paced_apis())
                runs["eks_audit_unpaced"].append(ours(cloud, expected, RATE_LIMITS=lifted))
                # paced at exactly the quota (100%) rather than 95% of it
                exact = "logs:DescribeSubscriptionFilters=5"
                runs["eks_audit_at_the_quota"].append(ours(cloud, expected, RATE_LIMITS=exact))
        policy.unlink()
    finally:
        cloud.stop()
    ours_wall = round(statistics.median(r["wall_s"] for r in runs["eks_audit"]), 2)
    theirs_wall = round(statistics.median(r["wall_s"] for r in runs["custodian"]), 2)
    return {
        "clusters": count,
        "mix": dict(expected),
        "repeats": repeats,
        "eks_audit_wall_s": ours_wall,
        "custodian_wall_s": theirs_wall,
        "ratio": round(ours_wall / theirs_wall, 2),
        "eks_audit_throttling_errors_shown": sum(r["throttling_errors_shown"] for r in runs["eks_audit"]),
        "both_right": all(r["right_answer"] for rs in runs.values() for r in rs),
        "runs": {k: v for k, v in runs.items() if v},
    }


def _paced_apis() -> list[str]:
    from eks_audit.quotas import DOCUMENTED_DEFAULTS

    return sorted(DOCUMENTED_DEFAULTS)


def bench_custodian() -> dict:
    custodian = ensure_custodian()
    version = subprocess.run([custodian, "version"], capture_output=True, text=True).stdout.strip()
    return {
        "custodian_version": version,
        "quotas": "the local cloud's defaults: CloudWatch Logs 5/s per API (Service Quotas), EKS its own",
        "small": compare(20, 3, custodian),
        "large": compare(200, 2, custodian, with_unpaced=True),
        "goal": "large ratio <= 1.0, no throttling error shown by eks-audit",
    }


if __name__ == "__main__":
    print(json.dumps(bench_custodian(), indent=2))
