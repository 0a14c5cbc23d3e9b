"""`eks-audit status --org` across accounts: concurrent (as shipped) against one account at a time,
on one local cloud running an organization, interleaved in the same run.

Each account is read through its own role, with its own limiters (its own quotas): accounts do not
compete for a quota, so reading them side by side should cost about the slowest account, not the
sum. Run alone with `python benchmarks/organization.py` (merges into results/latest.json).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from click.testing import CliRunner

ACCOUNTS = 6
CLUSTERS_PER_ACCOUNT = 10
RUNS = 3
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def bench_status_org() -> dict:
    from eks_audit_cli import account_pool
    from eks_audit_cli.main import cli
    from eks_audit_local.server import LocalCloud, Timings

    cloud = LocalCloud(
        port=0,
        organization=ACCOUNTS,
        controller_enabled=False,  # the clusters' state does not matter to the cost of reading them
        timings=Timings(creating=0, update=0, sweep_interval=0),
    )
    cloud.start()
    try:
        for account in cloud.org.members:
            eks = cloud.member_client(account, "eks")
            for index in range(CLUSTERS_PER_ACCOUNT):
                eks.create_cluster(
                    name=f"c{index:02d}", roleArn=f"arn:aws:iam::{account}:role/eks", resourcesVpcConfig={}
                )
        time.sleep(2)  # a full second of every bucket again
        args = ["status", "--org", "--json", "--window", "0", "--endpoint-url", cloud.endpoint]
        timings: dict[str, list[float]] = {"concurrent": [], "one_at_a_time": []}
        shipped = account_pool.START, account_pool.MOST
        for _ in range(RUNS):
            for mode, (start, most) in (("concurrent", shipped), ("one_at_a_time", (1, 1))):
                account_pool.START, account_pool.MOST = start, most
                started = time.perf_counter()
                result = CliRunner().invoke(cli, args)
                timings[mode].append(time.perf_counter() - started)
                data = json.loads(result.stdout)
                read = sum(len(a["clusters"]) for a in data["accounts"])
                if read != ACCOUNTS * CLUSTERS_PER_ACCOUNT:
                    raise RuntimeError(
                        f"status --org read {read} clusters, not {ACCOUNTS * CLUSTERS_PER_ACCOUNT}"
                    )
                time.sleep(2)
        account_pool.START, account_pool.MOST = shipped
    finally:
        cloud.stop()
    concurrent, serial = (round(statistics.median(timings[m]), 2) for m in ("concurrent", "one_at_a_time"))
    return {
        "accounts": ACCOUNTS,
        "clusters_per_account": CLUSTERS_PER_ACCOUNT,
        "runs": RUNS,
        "account_workers": "measured (eks_audit_cli/account_pool.py)",
        "concurrent_median_s": concurrent,
        "one_at_a_time_median_s": serial,
        "ratio_concurrent_to_one_at_a_time": round(concurrent / serial, 2),
    }


def main() -> int:
    result = bench_status_org()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["status_org"] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"status --org: {result['accounts']} accounts x {result['clusters_per_account']} clusters in "
        f"{result['concurrent_median_s']} s, one account at a time {result['one_at_a_time_median_s']} s "
        f"(x{result['ratio_concurrent_to_one_at_a_time']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
