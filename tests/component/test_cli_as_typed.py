"""The CLI as people type it: global options after the command, one clear line when AWS is out of
reach, filter-test on the files people have, and AWS's own evaluator as the cross-check."""

import json

import pytest
from click.testing import CliRunner

from eks_audit.filter_pattern import compile_pattern
from eks_audit_cli.main import cli
from eks_audit_local import logs_overlay

KEPT = json.dumps({"kind": "Event", "stage": "ResponseComplete", "requestURI": "/api/v1/pods"})
HEALTH = json.dumps({"kind": "Event", "stage": "ResponseComplete", "requestURI": "/healthz"})


def KEEP_ALL(_pattern):
    return compile_pattern("")


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def test_global_options_work_after_the_command_as_before_it(tmp_path):
    event = tmp_path / "request.json"
    event.write_text(json.dumps({"cluster": "payments"}))
    before = run("--region", "eu-west-1", "explain", str(event))
    after = run("explain", str(event), "--region", "eu-west-1")
    assert before.exit_code == after.exit_code == 0
    assert before.output == after.output
    assert json.loads(after.output)["region"] == "eu-west-1"
    log = tmp_path / "one.log"
    log.write_text(KEPT + "\n")
    assert json.loads(run("filter-test", str(log), "--json").output)["lines"] == 1  # --json after, too


def test_an_option_that_would_do_nothing_is_not_offered_after_the_command(tmp_path):
    event = tmp_path / "request.json"
    event.write_text(json.dumps({"cluster": "payments"}))
    result = run("explain", str(event), "--profile", "prod")  # explain calls no AWS API
    assert result.exit_code == 2 and "No such option '--profile'" in result.stderr


def test_no_network_is_one_line_and_a_non_zero_exit(monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "0")
    result = run("status", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("eks-audit: cannot reach AWS")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args", [("status",), ("backfill", "--dry-run"), ("status", "--region", "us-east-1")]
)
def test_no_credentials_is_one_line_and_a_non_zero_exit(monkeypatch, tmp_path, args):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("eks-audit: no usable AWS credentials")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_region_help_says_what_the_default_is():
    result = run("status", "--help")
    assert "every region enabled for the account" in " ".join(result.output.split())


def test_filter_test_reads_one_pretty_printed_message(tmp_path):
    source = tmp_path / "event.json"
    source.write_text(json.dumps(json.loads(KEPT), indent=2))
    result = run("filter-test", str(source), "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.output)["lines"], json.loads(result.output)["kept"]) == (1, 1)


def test_filter_test_reads_a_json_array_of_messages(tmp_path):
    source = tmp_path / "events.json"
    source.write_text(json.dumps([json.loads(KEPT), json.loads(HEALTH)], indent=2))
    report = json.loads(run("--json", "filter-test", str(source)).output)
    assert (report["lines"], report["kept"], report["dropped"]) == (2, 1, 1)


@pytest.mark.parametrize(("content", "said"), [("", "no log messages"), ("\n\n", "no log messages")])
def test_filter_test_never_reports_zero_lines_as_success(tmp_path, content, said):
    source = tmp_path / "input"
    source.write_text(content)
    result = run("filter-test", str(source))
    assert result.exit_code == 2
    assert said in result.stderr


def test_check_with_aws_agrees_on_the_standard_pattern(aws):
    result = run(
        "--json", "--region", "us-east-1", "filter-test", "--check-with-aws", input=f"{KEPT}\n{HEALTH}\n"
    )
    assert result.exit_code == 0, result.output
    check = json.loads(result.output)["check_with_aws"]
    assert (check["sampled"], check["disagreements"]) == (2, [])


def test_check_with_aws_lists_every_line_answered_differently(aws, monkeypatch):
    """Here AWS's engine (played by a stand-in that keeps everything) disagrees on the health check."""
    monkeypatch.setattr(logs_overlay, "compile_pattern", KEEP_ALL)
    result = run("filter-test", "--check-with-aws", "--region", "us-east-1", input=f"{KEPT}\n{HEALTH}\n")
    assert result.exit_code == 1
    assert "2 sampled lines, 1 answered differently" in result.output
    assert f"here dropped, AWS kept: {HEALTH}" in result.output


def test_a_pattern_beyond_this_evaluator_is_judged_by_aws(aws, monkeypatch):
    monkeypatch.setattr(logs_overlay, "compile_pattern", KEEP_ALL)
    result = run(
        "filter-test",
        "--pattern",
        "{ $.a = }",
        "--check-with-aws",
        "--region",
        "us-east-1",
        input=f"{KEPT}\n",
    )
    assert result.exit_code == 2
    assert "cannot be evaluated here" in result.stderr and "position 8" in result.stderr
    assert "CloudWatch Logs (us-east-1) accepts it: of 1 sampled lines it keeps 1" in result.stderr


def every_documented_example():
    from tests.unit.test_filter_pattern_aws_examples import (
        DELIMITED_EXAMPLES,
        JSON_EXAMPLES,
        REGEX_EXAMPLES,
        UNSTRUCTURED_EXAMPLES,
    )

    examples = [*REGEX_EXAMPLES, *UNSTRUCTURED_EXAMPLES, *JSON_EXAMPLES, *DELIMITED_EXAMPLES]
    # an empty message cannot be a line of a file of one message per line (empty lines are skipped)
    return [example for example in examples if example[1]]


@pytest.mark.parametrize(("pattern", "message", "expected"), every_documented_example())
def test_filter_test_gives_awss_answer_for_every_documented_example(tmp_path, pattern, message, expected):
    """Through the CLI, as a user would: the message in a file of its own, one per line."""
    log = tmp_path / "one.log"
    log.write_text(message + "\n")
    result = run("filter-test", "--pattern", pattern, "--print", "kept", str(log))
    assert result.exit_code == 0, result.stderr
    assert (result.stdout == message + "\n") is expected, result.stderr


def test_a_file_that_is_not_json_is_read_as_text_lines(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("[ERROR 400] BAD REQUEST\n{ not json either\n[INFO 200] OK\n")
    result = run("--json", "filter-test", "--pattern", "[level=*ERROR*, ...]", str(log))
    assert result.exit_code == 0, result.stderr
    assert (json.loads(result.stdout)["lines"], json.loads(result.stdout)["kept"]) == (3, 1)


def test_filter_test_refuses_binary_data_and_a_corrupt_gzip_in_one_line_each(tmp_path):
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    corrupt = tmp_path / "bad.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 20)
    for path, said in ((binary, "not a log file"), (corrupt, "corrupt gzip")):
        result = run("filter-test", "--pattern", "", str(path))
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and said in result.stderr, result.stderr
