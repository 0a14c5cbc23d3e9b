"""The README as a user pastes it: its exit-code table is the single truth of what each kind of
outcome exits with (the CLI's constants and the examples it names are held to it), and the
examples whose output needs no AWS are what the commands print."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from eks_audit_cli import errors
from eks_audit_cli.main import cli

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()


def exit_table() -> dict[int, str]:
    """exit code -> the row's text, from the table under "Every command exits with one of these"."""
    section = README.split("Every command exits with one of these", 1)[1]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section.split("\n\n", 2)[1], re.M)
    return {int(code): text for code, text in rows}


def test_the_table_names_the_codes_the_cli_uses():
    table = exit_table()
    assert set(table) == {0, 1, 2, errors.INTERRUPTED, errors.CLOSED_PIPE}
    assert errors.CANNOT_RUN == 2 and "could not run" in table[2]


def test_each_example_of_could_not_run_exits_as_the_table_says(tmp_path):
    row = exit_table()[2]
    empty, plain = tmp_path / "empty.log", tmp_path / "notes.md"
    empty.write_text("")
    plain.write_text("# Notes\n\nsome words\nmore words\n")
    examples = {
        "a mistyped region": ["status", "--region", "us-esat-1"],
        "an endpoint without its scheme": ["status", "--endpoint-url", "localhost:4566"],
        "an impossible duration": ["status", "--window", "5s"],
        "an empty input": ["filter-test", str(empty)],
        "a file that is not a log such as Markdown": ["filter-test", str(plain)],
    }
    for words, command in examples.items():
        assert words in row, f"the table no longer says {words!r}"
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, (words, result.output)


def test_the_explain_example_is_what_explain_prints():
    block = README.split("$ eks-audit explain events/eks-create-cluster.json\n", 1)[1].split("\n$ ", 1)[0]
    result = CliRunner().invoke(cli, ["explain", str(ROOT / "events" / "eks-create-cluster.json")])
    assert result.exit_code == 0 and result.output.strip() == block.strip()


def test_make_org_package_without_its_bucket_fails_before_building_anything():
    """It built everything first, then failed on the missing ARTIFACTS_BUCKET."""
    import os
    import subprocess

    environment = {k: v for k, v in os.environ.items() if k != "ARTIFACTS_BUCKET"}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "org-package"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )
    planned = done.stdout.splitlines()
    # make -n lists the recipe lines it would run, in order: the check comes before any build step
    check = next(i for i, line in enumerate(planned) if "ARTIFACTS_BUCKET" in line)
    builds = [i for i, line in enumerate(planned) if "sam build" in line or "pip install" in line]
    assert all(check < i for i in builds)
