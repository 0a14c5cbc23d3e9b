"""filter-test's monthly estimate for a sample at a stated daily volume (worked by hand)."""

import json

import pytest
from click.testing import CliRunner

from eks_audit.delivery import encode_record
from eks_audit_cli.filter_test import parse_volume
from eks_audit_cli.main import cli


def line(uri: str, stage: str = "ResponseComplete") -> str:
    return json.dumps(
        {"kind": "Event", "stage": stage, "requestURI": uri, "verb": "get", "user": {"username": "u"}}
    )


def estimate(tmp_path, lines: list[str], *extra: str) -> dict:
    sample = tmp_path / "audit.log"
    sample.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["--json", "filter-test", *extra, str(sample)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["estimate"]


def test_ingestion_is_paid_on_the_whole_daily_volume_at_the_tables_price(tmp_path):
    found = estimate(tmp_path, [line(f"/api/v1/pods/{i}") for i in range(50)], "--daily-volume", "2GB")
    assert found["daily_volume_bytes"] == 2 * 1024**3
    assert found["logs_ingestion"] == pytest.approx(2 * 730 / 24 * 0.50, abs=1e-3)  # 60.83 GB a month
    assert "price table" in found["prices"]["source"]


def test_what_is_forwarded_is_the_kept_share_compressed_as_records(tmp_path):
    kept = [line(f"/api/v1/namespaces/team-{i}/secrets/s{i}") for i in range(200)]
    dropped = [line("/healthz") for _ in range(200)]
    sample = tmp_path / "audit.log"
    sample.write_text("\n".join(kept + dropped) + "\n")
    report = json.loads(CliRunner().invoke(cli, ["--json", "filter-test", str(sample)]).stdout)
    found = report["estimate"]
    # CloudWatch Logs sends gzip members of a JSON envelope: here two records of 100 kept lines
    records = [
        encode_record("/aws/eks/sample/cluster", "kube-apiserver-audit", [(0, m) for m in kept[k : k + 100]])
        for k in (0, 100)
    ]
    ratio = sum(map(len, records)) / sum(len(text) for text in kept)
    share = report["bytes_kept"] / (report["bytes_kept"] + report["bytes_dropped"])
    assert found["compression"] == pytest.approx(ratio, rel=5e-3, abs=1e-4)
    assert found["firehose"] == pytest.approx(
        share * ratio * 730 / 24 * 0.029, rel=5e-3, abs=1e-4
    )  # 1 GB a day
    assert found["s3"] == pytest.approx(share * ratio * 30 * 0.023, rel=5e-3, abs=1e-4)  # 30 days kept
    downstream = found["firehose"] + found["s3"]
    assert found["filter_saves"] == pytest.approx(
        downstream * (1 / share - 1), rel=5e-3, abs=1e-4
    )  # by bytes dropped


def test_the_text_output_states_the_volume_and_the_prices(tmp_path):
    sample = tmp_path / "audit.log"
    sample.write_text(line("/api/v1/pods") + "\n")
    out = CliRunner().invoke(cli, ["filter-test", "--daily-volume", "500MB", str(sample)]).output
    assert "a month at 500.0 MB a day: CloudWatch Logs ingestion $" in out
    assert "prices: eks-audit's price table of" in out


@pytest.mark.parametrize(
    ("text", "expected"), [("1GB", 1024**3), ("500 mb", 500 * 1024**2), ("2.5TB", 2.5 * 1024**4)]
)
def test_volumes(text, expected):
    assert parse_volume(text) == expected


def test_a_volume_without_a_unit_is_one_clear_line(tmp_path):
    sample = tmp_path / "audit.log"
    sample.write_text(line("/api/v1/pods") + "\n")
    result = CliRunner().invoke(cli, ["filter-test", "--daily-volume", "1000", str(sample)])
    assert result.exit_code == 2 and "'1000' is not a volume" in result.output
