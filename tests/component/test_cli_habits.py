"""The CLI's Unix habits and its answers to mistyped input: one line and exit 2 before any AWS call,
the later of two values given, durations as people write them, quiet on a closed pipe, 130 on
Ctrl-C."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from eks_audit_cli import explain
from eks_audit_cli.delivery_health import parse_duration
from eks_audit_cli.main import cli
from eks_audit_cli.options import edit_distance, known_regions, region_problem
from tests.helpers import ROOT

# a port nothing listens on: any AWS call would end in "cannot reach AWS", not in the message tested
NOWHERE = ("--endpoint-url", "http://127.0.0.1:9")


def run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("status", "--region", "us-esat-1", *NOWHERE),
            "no region named 'us-esat-1': did you mean us-east-1?",
        ),
        (("status", "--region", "US-EAST-1", *NOWHERE), "region names are lower case (us-east-1)"),
        (("--regions", "eu-west-1,mars-north-9", "backfill", *NOWHERE), "no region named 'mars-north-9'"),
        (("local", "serve", "--regions", "us-esat-1"), "did you mean us-east-1?"),
        (("status", "--endpoint-url", "localhost:4566"), "such as http://localhost:4566"),
    ],
)
def test_mistyped_input_is_one_line_and_exit_2_before_any_aws_call(args, said):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and said in result.stderr, result.stderr


def test_region_names_come_from_botocores_partition_data():
    known = known_regions()
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= known
    assert all(region_problem(region, known) is None for region in known)
    assert edit_distance("us-esat-1", "us-east-1") == 1  # a transposition is one typo


def test_a_region_newer_than_botocores_data_is_left_to_aws():
    known = known_regions()
    assert region_problem("eu-west-9", known) is None  # the shape of a region, only the number new
    assert region_problem("eu-wets-1", known) == "no region named 'eu-wets-1': did you mean eu-west-1?"


def test_the_later_of_two_values_wins(tmp_path):
    event = tmp_path / "request.json"
    event.write_text(json.dumps({"cluster": "payments"}))
    result = run("--region", "eu-west-1", "explain", str(event), "--region", "ap-south-1")
    assert result.exit_code == 0 and json.loads(result.output)["region"] == "ap-south-1"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("1d2h", 93600), ("1.5h", 5400)],
)
def test_durations_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("status", "--window", "30s", *NOWHERE), "shorter than CloudWatch's 60 s period"),
        (("status", "--pending-grace", "-5", *NOWHERE), "-5"),
        (("backfill", "--wait", "-1", *NOWHERE), "-1"),
        (("status", "--window", "1h30", *NOWHERE), "expected a duration"),
    ],
)
def test_impossible_waits_are_refused(args, said):
    result = run(*args)
    assert result.exit_code == 2 and said in result.stderr, result.stderr


def test_ctrl_c_exits_130(monkeypatch, tmp_path):
    event = tmp_path / "request.json"
    event.write_text(json.dumps({"cluster": "payments"}))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(explain, "parse_message", interrupted)
    assert run("explain", str(event)).exit_code == 130


def test_a_closed_pipe_ends_quietly(tmp_path):
    log = tmp_path / "many.log"
    log.write_text("".join(f'{{"n": {i}, "stage": "ResponseComplete"}}\n' for i in range(200_000)))
    script = f"{sys.executable} -m eks_audit_cli filter-test --pattern '' --print kept {log} | head -1"
    finished = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert finished.stdout == '{"n": 0, "stage": "ResponseComplete"}\n'
    assert finished.stderr == ""
    assert finished.returncode == 141
