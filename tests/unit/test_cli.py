"""The first faces of `eks-audit`: output and exit codes."""

import json

import pytest
from click.testing import CliRunner

from eks_audit.delivery import control_record, encode_record
from eks_audit_cli.main import cli
from tests.helpers import EVENTS

KEPT = json.dumps(
    {"kind": "Event", "stage": "ResponseComplete", "requestURI": "/api/v1/pods", "verb": "list"}
)
HEALTH = json.dumps({"kind": "Event", "stage": "ResponseComplete", "requestURI": "/healthz", "verb": "get"})
STARTED = json.dumps(
    {"kind": "Event", "stage": "ResponseStarted", "requestURI": "/api/v1/pods", "verb": "get"}
)
LINES = "\n".join([KEPT, HEALTH, STARTED, KEPT]) + "\n"


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_filter_test_counts_lines_and_bytes_with_the_standard_pattern():
    result = run("--json", "filter-test", input=LINES)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["lines"], report["kept"], report["dropped"]) == (4, 2, 2)
    assert report["bytes_kept"] == 2 * len(KEPT)
    assert report["bytes_dropped"] == len(HEALTH) + len(STARTED)


def test_filter_test_prints_the_selected_lines_unchanged(tmp_path):
    source = tmp_path / "audit.log"
    source.write_text(LINES)
    result = CliRunner().invoke(cli, ["filter-test", "--print", "dropped", str(source)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [HEALTH, STARTED]
    assert "kept 2 (50.0%)" in result.stderr


def test_filter_test_takes_a_pattern_or_a_pattern_file(tmp_path):
    assert json.loads(run("--json", "filter-test", "--pattern", "healthz", input=LINES).output)["kept"] == 1
    pattern = tmp_path / "p.txt"
    pattern.write_text('{ $.verb = "list" }\n')
    result = run("--json", "filter-test", "--pattern-file", str(pattern), input=LINES)
    assert json.loads(result.output)["kept"] == 2


def test_filter_test_bad_pattern_points_at_the_position():
    result = run("filter-test", "--pattern", "{ $.verb = }", input=LINES)
    assert result.exit_code == 2
    assert "position 11" in result.stderr


def test_filter_test_empty_pattern_keeps_everything():
    assert json.loads(run("--json", "filter-test", "--pattern", "", input=LINES).output)["dropped"] == 0


def test_decode_writes_one_event_per_line_from_every_member(tmp_path):
    group, stream = "/aws/eks/p/cluster", "kube-apiserver-audit-1"
    data = (
        control_record()
        + encode_record(group, stream, [(1, KEPT), (2, HEALTH)])
        + encode_record(group, stream, [(3, STARTED)])
    )
    obj = tmp_path / "object"
    obj.write_bytes(data)
    result = CliRunner().invoke(cli, ["decode", str(obj)])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        json.loads(KEPT),
        json.loads(HEALTH),
        json.loads(STARTED),
    ]
    meta = CliRunner().invoke(cli, ["decode", "--with-metadata", str(obj)])
    first = json.loads(meta.stdout.splitlines()[0])
    assert (first["logGroup"], first["logStream"], first["timestamp"]) == (group, stream, 1)


def test_decode_reports_problems_and_exits_1(tmp_path):
    good = encode_record("/aws/eks/p/cluster", "s", [(1, KEPT), (2, "[Truncated...]")])
    obj = tmp_path / "object"
    obj.write_bytes(good + good[:-4])
    result = CliRunner().invoke(cli, ["decode", str(obj), str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert [json.loads(line) for line in result.stdout.splitlines()] == [json.loads(KEPT)]
    assert "truncated gzip member" in result.stderr
    assert "not JSON" in result.stderr
    assert "missing" in result.stderr


def test_explain_reconcile_and_ignore():
    created = run("explain", str(EVENTS / "eks-create-cluster.json"))
    assert created.exit_code == 0
    assert json.loads(created.output) == {
        "action": "reconcile",
        "cluster": "payments-prod",
        "region": "us-east-1",
        "account": "123456789012",
        "trigger": "CreateCluster",
    }
    failed = run("explain", "-", input=(EVENTS / "eks-create-cluster-failed.json").read_text())
    assert json.loads(failed.output)["action"] == "ignore"


def test_explain_malformed_names_the_field_and_exits_2():
    event = json.loads((EVENTS / "eks-create-cluster.json").read_text())
    del event["detail"]["requestParameters"]["name"]
    result = run("explain", "-", input=json.dumps(event))
    assert result.exit_code == 2
    assert "detail.requestParameters.name" in result.stderr
    assert result.stdout == ""


def test_an_unreachable_unknown_region_is_named_not_the_network():
    """On AWS a region with no endpoint fails to connect: the line says the region is unknown to
    botocore, not "no network?"."""
    from botocore.exceptions import EndpointConnectionError

    from eks_audit_cli.errors import unknown_region_line

    unreachable = EndpointConnectionError(endpoint_url="https://eks.eu-west-9.amazonaws.com/clusters")
    line = unknown_region_line(("eu-west-9",), unreachable)
    assert line and line.startswith("eu-west-9: not a region botocore's partition data knows")
    assert unknown_region_line(("eu-west-1",), unreachable) is None  # a known region: the network's fault


def test_decode_of_an_empty_or_a_plain_text_file_is_nothing_to_read_exit_2(tmp_path):
    """The README's exit-code table: nothing to read (an empty input, a file that is not a log) is 2."""
    empty, plain = tmp_path / "empty", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    plain.write_text("hello\nworld\n")
    for path, said in ((empty, "empty: nothing to decode"), (plain, "not a gzip member")):
        result = CliRunner().invoke(cli, ["decode", str(path)])
        assert result.exit_code == 2 and said in result.stderr, result.stderr


class FakeTime:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_tail_waits_out_a_dropped_endpoint_with_backoff_and_goes_on():
    """tail gave up 8.8 s after the endpoint dropped (botocore's own retries)."""
    from botocore.exceptions import EndpointConnectionError

    from eks_audit_cli.tail import Patience

    clock, said, answers = FakeTime(), [], iter([1, 2, 3, 4])

    def look():
        if next(answers) < 4:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")
        return ["objects"]

    patience = Patience(budget=600, sleep=clock.sleep, clock=lambda: clock.now, say=said.append)
    assert patience.attempt(look) == ["objects"]
    assert clock.slept == [1.0, 2.0, 4.0] and len(said) == 3
    assert said[0].startswith("eks-audit tail: AWS unreachable (Could not connect to the endpoint URL")


def test_tail_says_why_it_stopped_when_the_outage_outlasts_its_window():
    from botocore.exceptions import EndpointConnectionError

    from eks_audit_cli.tail import GaveUp, Patience

    clock = FakeTime()

    def look():
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")

    patience = Patience(budget=120, sleep=clock.sleep, clock=lambda: clock.now, say=lambda line: None)
    with pytest.raises(GaveUp, match=r"AWS unreachable for \d+s .*nothing delivered meanwhile is lost"):
        patience.attempt(look)
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # the next wait would pass the window
