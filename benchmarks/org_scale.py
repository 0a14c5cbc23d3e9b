"""`eks-audit status --org` at scale: the real command against a simulated organization
(benchmarks/simulated_org.py) of 500 member accounts, 4 regions each, 5 clusters a region.

Each run is a process of its own, so that its peak memory is its own. Reported per run: wall time,
the calls made (throttled answers included), peak resident memory, the output's size, and the
ratio of the wall time to a bound stated from the quotas and the concurrency:

    bound = T_org + ceil(N / W) * T_account

- T_org: the administering account's own reads, one after the other (the organization stack,
  DescribeOrganization, ListAccounts by 20, ListStackInstances by 100 for both StackSets), each at
  its median latency, or at its quota where the quota is slower;
- T_account: one member account read alone on the same simulation (its calls depend on each other:
  the role, then its stack, then each region's reads; that chain is the code's, so it is measured),
  the best of three;
- W accounts at once: fixed for the sweep, or what eks_audit_cli/account_pool.py measured (the
  median over the run): each account has its own quotas, so W accounts cost what one costs, as
  long as nothing else (the CPU, the caller's own quotas) is shared.

What is shared is the CPU: each account's read spends CPU in botocore (its clients and calls), and
Python runs one thread's code at a time. Past the W at which the reads' waiting hides each other's
CPU, more accounts at once only wait; the shipped pool stops about there, and the sweep shows it.

Run: `python benchmarks/org_scale.py` (merges its figures into results/latest.json under
"status_org_scale"; part of `make bench`); `--quick` for a small organization. One run:
`python benchmarks/org_scale.py --child ACCOUNTS REGIONS CLUSTERS WORKERS` (WORKERS 0: as shipped).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
ACCOUNTS = 500
SWEEP = 100  # accounts for the sweep of fixed concurrencies
CLUSTERS = 5


def child(accounts: int, regions: int, clusters: int, workers: int) -> dict:
    """One `status --org --json` in this process, against the simulation."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIASIMULATEDMANAGE",
        AWS_SECRET_ACCESS_KEY="simulated",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    sys.path.insert(0, str(HERE))
    from simulated_org import SimulatedOrg

    from eks_audit_cli import account_pool
    from eks_audit_cli.main import cli

    if workers:  # a fixed number at once (never judged again); 0: as shipped, from the measurement
        account_pool.START = account_pool.MOST = workers
        account_pool.TARGET = float("inf")
    simulation = SimulatedOrg(accounts, REGIONS[:regions], clusters)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # standard output and error to files, as a pipe would take them: nothing here holds the output
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, simulation.installed():
        started, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(["status", "--org", "--json", "--window", "1h"], standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the output is read back
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in (0, 1):
        raise RuntimeError(f"status --org exited {code}: {stderr[-2000:]}")
    document = json.loads(stdout)
    progress = [line for line in stderr.splitlines() if " at once, " in line]
    at_once = [int(line.split(" at once, ")[0].rsplit(" ", 1)[1]) for line in progress]
    read = sum(len(a["clusters"]) for a in document["accounts"])
    if read != accounts * regions * clusters:
        raise RuntimeError(f"status --org read {read} clusters, not {accounts * regions * clusters}")
    return {
        "accounts": accounts,
        "regions": regions,
        "clusters_per_region": clusters,
        "workers": workers or "measured",
        "at_once": at_once[-1] if at_once else None,  # where the concurrency ended
        "at_once_history": at_once,
        "ok": document["ok"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "simulation_cpu_s": round(simulation.counts.sim_seconds, 2),
        "calls": sum(simulation.counts.calls.values()),
        "throttled": sum(simulation.counts.throttled.values()),
        "calls_by_api": dict(simulation.counts.calls.most_common()),
        "throttled_by_api": dict(simulation.counts.throttled.most_common()),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "baseline_rss_mib": round(baseline_kib / 1024, 1),
        "output_mib": round(len(stdout.encode()) / 2**20, 2),
        "progress_lines": len(progress),
    }


def run_child(accounts: int, regions: int, clusters: int, workers: int) -> dict:
    command = [sys.executable, __file__, "--child", str(accounts), str(regions), str(clusters), str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def org_bound_s(accounts: int, regions: int) -> float:
    """The administering account's sequential reads: at median latency, or at quota if slower."""
    from simulated_org import ACCOUNTS_PAGE, DEFAULT_QUOTA, INSTANCES_PAGE, MEDIAN_LATENCY_S

    pages = {
        "organizations": 1 + math.ceil((accounts + 1) / ACCOUNTS_PAGE),  # DescribeOrganization, ListAccounts
        "cloudformation": 1
        + math.ceil(accounts / INSTANCES_PAGE)
        + math.ceil(accounts * (regions - 1) / INSTANCES_PAGE),
    }
    return sum(max(n * MEDIAN_LATENCY_S[s], (n - DEFAULT_QUOTA) / DEFAULT_QUOTA) for s, n in pages.items())


def bounded(result: dict, t_org: float, t_account: float) -> dict:
    """The run with its bound: W is the fixed number, or the median of what the pool measured."""
    history = result["at_once_history"]
    at_once = result["workers"] if isinstance(result["workers"], int) else sorted(history)[len(history) // 2]
    bound = t_org + math.ceil(result["accounts"] / at_once) * t_account
    return {
        **result,
        "bound_at_once": at_once,
        "bound_s": round(bound, 2),
        "ratio_to_bound": round(result["wall_s"] / bound, 2),
    }


def say(result: dict) -> None:
    print(
        f"  {result['accounts']} accounts x {result['regions']} regions x {result['clusters_per_region']} clusters, "
        f"at once {result['workers']} (ended at {result['at_once']}): {result['wall_s']} s, bound {result['bound_s']} s "
        f"(x{result['ratio_to_bound']}), cpu {result['cpu_s']} s, {result['calls']} calls, {result['throttled']} "
        f"throttled, peak {result['peak_rss_mib']} MiB, output {result['output_mib']} MiB",
        file=sys.stderr,
        flush=True,
    )


def bench_status_org_scale(quick: bool = False) -> dict:
    """The sweep of fixed concurrencies and the shipped (measured) one on SWEEP accounts; memory
    with four times the clusters, at the same fixed concurrency; the shipped one on ACCOUNTS."""
    sys.path.insert(0, str(HERE))
    regions, accounts, sweep = len(REGIONS), (50 if quick else ACCOUNTS), (20 if quick else SWEEP)

    def alone(clusters: int) -> float:
        """T_account: one account read alone, the best of three."""
        best = min(run_child(1, regions, clusters, 1)["wall_s"] for _ in range(3))
        return best - org_bound_s(1, regions)

    t_account, t_account_more = alone(CLUSTERS), alone(CLUSTERS * 4)

    def run(n: int, workers: int, clusters: int = CLUSTERS) -> dict:
        t = t_account if clusters == CLUSTERS else t_account_more
        result = bounded(run_child(n, regions, clusters, workers), org_bound_s(n, regions), t)
        say(result)
        return result

    fixed = [run(sweep, w) for w in (2, 4, 8, 16)]
    measured = run(sweep, 0)
    more_clusters = run(sweep, 4, CLUSTERS * 4)  # against fixed[1]: memory at the same concurrency
    headline = run(accounts, 0)
    return {
        "t_account_s": round(t_account, 3),
        "t_account_4x_clusters_s": round(t_account_more, 3),
        "account_cpu_s": round(headline["cpu_s"] / accounts, 3),
        "sweep_accounts": sweep,
        "fixed": fixed,
        "measured": measured,
        "more_clusters": more_clusters,
        # what four times the clusters added to the peak, per MiB they added to the output
        "memory_per_output": round(
            (more_clusters["peak_rss_mib"] - fixed[1]["peak_rss_mib"])
            / max(0.01, more_clusters["output_mib"] - fixed[1]["output_mib"]),
            2,
        ),
        "headline": headline,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(child(*map(int, argv[1:5]))))
        return 0
    quick = "--quick" in argv
    result = bench_status_org_scale(quick)
    print(json.dumps({k: v for k, v in result.items() if k not in ("fixed",)}, indent=2, default=str)[:4000])
    if not quick:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results["status_org_scale"] = result
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
