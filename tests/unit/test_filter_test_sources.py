"""filter-test reads every kind of input an operator has, and says what the pattern drops."""

import gzip
import json

from click.testing import CliRunner

from eks_audit.delivery import control_record, encode_record
from eks_audit_cli.main import cli


def event(uri, verb="get", stage="ResponseComplete", user="kubernetes-admin"):
    return json.dumps(
        {"kind": "Event", "stage": stage, "requestURI": uri, "verb": verb, "user": {"username": user}}
    )


KEEP = [event("/api/v1/pods", "list"), event("/apis/apps/v1/deployments", "create")]
DROP = [
    event("/healthz?verbose"),
    event("/healthz"),
    event("/version", user="eks:node-manager"),
    event("/api/v1/pods", stage="RequestReceived"),
]
ALL = KEEP + DROP


def report_for(path) -> dict:
    result = CliRunner().invoke(cli, ["--json", "filter-test", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_raw_lines(tmp_path):
    path = tmp_path / "lines"
    path.write_text("\n".join(ALL) + "\n")
    assert (report_for(path)["kept"], report_for(path)["dropped"]) == (2, 4)


def test_cloudwatch_export_lines_plain_and_gzip(tmp_path):
    lines = "".join(f"2026-11-27T05:00:0{i}.000Z {message}\n" for i, message in enumerate(ALL))
    plain, packed = tmp_path / "000000", tmp_path / "000000.gz"
    plain.write_text(lines)
    packed.write_bytes(gzip.compress(lines.encode()))
    for path in (plain, packed):
        report = report_for(path)
        assert (report["kept"], report["dropped"]) == (2, 4)
        assert report["bytes_kept"] == sum(len(m) for m in KEEP)


def test_firehose_objects(tmp_path):
    path = tmp_path / "object"
    path.write_bytes(
        control_record() + encode_record("/aws/eks/p/cluster", "s", [(i, m) for i, m in enumerate(ALL)])
    )
    assert (report_for(path)["kept"], report_for(path)["dropped"]) == (2, 4)


def test_filter_log_events_json(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": [{"message": m, "timestamp": 1} for m in ALL]}, indent=4))
    assert (report_for(path)["kept"], report_for(path)["dropped"]) == (2, 4)
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps({"events": [{"message": m} for m in ALL]}))
    assert report_for(compact)["lines"] == 6


def test_dropped_by_uri_verb_and_user(tmp_path):
    path = tmp_path / "lines"
    path.write_text("\n".join(ALL) + "\n")
    dropped_by = report_for(path)["dropped_by"]
    assert dropped_by["request_uri"][0] == {
        "value": "/healthz",
        "lines": 2,
        "bytes": len(DROP[0]) + len(DROP[1]),
    }
    assert {row["value"] for row in dropped_by["user"]} == {"kubernetes-admin", "eks:node-manager"}
    assert dropped_by["verb"] == [{"value": "get", "lines": 4, "bytes": sum(len(m) for m in DROP)}]
    text = CliRunner().invoke(cli, ["filter-test", "--top", "1", str(path)]).stdout
    assert "dropped by request uri:" in text and "/healthz" in text and "/version" not in text


def test_term_pattern_breakdown_parses_dropped_lines(tmp_path):
    path = tmp_path / "lines"
    path.write_text("\n".join(ALL) + "\nplain text line\n")
    result = CliRunner().invoke(cli, ["--json", "filter-test", "--pattern", "pods", str(path)])
    report = json.loads(result.stdout)
    assert report["kept"] == 2
    assert {"value": "(not JSON)", "lines": 1, "bytes": 15} in report["dropped_by"]["verb"]


def run_on(*paths):
    return CliRunner().invoke(cli, ["filter-test", *map(str, paths)])


def test_a_markdown_file_is_refused_naming_it_and_what_it_looks_like(tmp_path):
    """filter-test README.md reported 'kept 0 (0.0%), dropped 100%' and exit 0: a cost estimate
    made from it would be wrong."""
    path = tmp_path / "README.md"
    path.write_text("# A title\n\nSome words.\n\n```\n" + KEEP[0] + "\n```\n\n| a | b |\n|---|---|\n")
    result = run_on(path)
    assert result.exit_code == 2
    assert f"{path}: only 1 JSON log message in its first 7 lines: it looks like Markdown" in result.stderr
    assert "kept" not in result.stdout


def test_a_csv_that_is_no_insights_export_is_refused_as_csv(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("cluster,region,bytes\npayments,us-east-1,12\nsearch,eu-west-1,7\n")
    result = run_on(path)
    assert result.exit_code == 2
    assert (
        "no JSON log message in its first 3 lines: it looks like CSV (header: cluster,region,bytes)"
        in result.stderr
    )


def test_a_logs_insights_csv_export_is_read_from_its_message_column(tmp_path):
    """A CloudWatch Logs Insights CSV export (fields @timestamp, @message): the messages are the
    @message column, CSV-quoted."""
    path = tmp_path / "insights.csv"
    rows = ["@timestamp,@message"] + [
        '2026-12-01 10:00:0{}.000,"{}"'.format(index, line.replace('"', '""'))
        for index, line in enumerate(ALL)
    ]
    path.write_text("\n".join(rows) + "\n")
    assert (report_for(path)["kept"], report_for(path)["dropped"]) == (2, 4)


def test_an_empty_file_is_named_alone_and_among_good_ones(tmp_path):
    empty, good = tmp_path / "empty.log", tmp_path / "good.log"
    empty.write_text("")
    good.write_text("\n".join(ALL) + "\n")
    alone = run_on(empty)
    assert alone.exit_code == 2 and f"{empty}: empty: no log messages in it" in alone.stderr
    among = run_on(empty, good)
    assert among.exit_code == 0 and f"{empty}: empty: no log messages in it" in among.stderr
    assert "lines 6: kept 2" in among.stdout
