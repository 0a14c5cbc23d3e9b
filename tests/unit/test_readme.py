"""The README as a user pastes it: its exit-code table is the single truth of what each kind of
outcome exits with (the CLI's constants and the examples it names are held to it), the examples
whose output needs no AWS are what the commands print, and the commands it names are the CLI's,
run as `make` installs them."""

from __future__ import annotations

import re
from pathlib import Path

import click
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


def test_every_explain_example_is_what_explain_prints():
    examples = re.findall(r"^\$ eks-audit explain (\S+)\n(.*?)(?=^\$ |^```)", README, re.S | re.M)
    assert len(examples) >= 2, "the explain examples are gone"
    for event, printed in examples:
        result = CliRunner().invoke(cli, ["explain", str(ROOT / event)])
        assert result.exit_code == 0 and result.output.strip() == printed.strip(), event


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


def code_blocks(text: str | None = None) -> list[str]:
    """The README's code blocks (or those of a part of it), without their fences."""
    return re.findall(r"^```[^\n]*\n(.*?)^```", README if text is None else text, re.S | re.M)


def section(title: str) -> str:
    """A `## title` section of the README, up to the next one."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def leaf_command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command of the CLI that `eks-audit WORDS...` runs, and the words left for it."""
    command: click.Command = cli
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command, words = command.commands[words[0]], words[1:]
    return command, words


def assert_a_real_command(typed: str) -> None:
    """`eks-audit ...` as typed in the README: a command of the CLI (not a group), with options it has."""
    command, rest = leaf_command(typed.split()[1:])
    assert not isinstance(command, click.Group), f"{typed!r}: not a command of the CLI"
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    unknown = [word for word in rest if word.startswith("-") and word not in options]
    assert not unknown, f"{typed!r}: {unknown} are not options of `{command.name}`"


def test_each_example_of_could_not_run_that_needs_aws_or_a_port_exits_as_the_table_says(aws, monkeypatch):
    """Moto stands in for AWS; a region botocore does not know is asked at an endpoint nothing
    listens on, as AWS's own (no such host) answers nothing."""
    import socket

    import boto3

    row = exit_table()[2]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the unreachable endpoint: no retries to wait for
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="empty")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        examples = {
            "a well-formed region AWS does not have": (
                ["status", "--region", "eu-west-9", "--endpoint-url", "http://127.0.0.1:9"],
                "eu-west-9: not a region botocore's partition data knows",
            ),
            "a busy `local serve --port`": (
                ["local", "serve", "--port", str(busy), "--quiet"],
                f"cannot listen on 127.0.0.1:{busy}",
            ),
            "no stack of that name anywhere": (
                ["status", "--region", "us-east-1", "--stack-name", "nowhere"],
                "no eks-audit stack named 'nowhere' in us-east-1",
            ),
            "a prefix with no objects": (
                ["decode", "--region", "us-east-1", "s3://empty/eks_audit_logs/"],
                "no objects under s3://empty/eks_audit_logs/",
            ),
        }
        for words, (command, said) in examples.items():
            assert words in row, f"the table no longer says {words!r}"
            result = CliRunner().invoke(cli, command)
            assert result.exit_code == 2 and said in result.stderr, (words, result.output)


def test_the_decode_example_reads_where_the_stack_delivers():
    """Objects are delivered under eks_audit_logs/<account>/<region>/: the example's path says its region."""
    from eks_audit.regions import known_regions
    from eks_audit_local.template import SPOKE_TEMPLATE, Context, load_template

    def resolved(template: dict, node: object) -> str:
        return Context(template, account="<account>", region="<region>").resolve(node)

    def delivered_under(template: dict) -> str:
        destination = template["Resources"]["DeliveryStream"]["Properties"][
            "ExtendedS3DestinationConfiguration"
        ]
        return resolved(template, destination["Prefix"])

    home, spoke = load_template(), load_template(SPOKE_TEMPLATE)
    prefixes = {
        resolved(home, home["Outputs"]["DeliveryPrefix"]["Value"]),
        delivered_under(home),
        delivered_under(spoke),
    }
    assert len(prefixes) == 1, prefixes  # the home stack and every spoke deliver under one shape
    (prefix,) = prefixes
    assert f"`{prefix}" in README  # documented as the template builds it
    bucket, key = re.search(r"^\$ eks-audit decode s3://([^/\s]+)/(\S+)$", README, re.M).groups()
    shape = re.escape(prefix).replace("<account>", r"(\d{12})").replace("<region>", r"([a-z0-9-]+)")
    match = re.fullmatch(shape + r"\d{4}/\d{2}/\d{2}/", key)
    assert match, f"the decode example's key {key!r} is not {prefix}YYYY/MM/DD/"
    account, region = match.groups()
    assert region in known_regions() and account in bucket


def test_the_troubleshooting_table_has_ten_rows_each_with_a_command_and_a_fix():
    text = section("Troubleshooting")
    assert "The ten things" in text
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \|$", text, re.M)[1:]  # below the header
    assert len(rows) == 10
    for symptom, shows, fix in rows:
        commands = re.findall(r"`((?:eks-audit|aws) [^`]*)`", shows)
        assert commands, f"{symptom!r}: no command shows it"
        for typed in commands:
            if typed.startswith("eks-audit "):
                assert_a_real_command(typed)
        assert len(fix.split()) >= 3, f"{symptom!r}: no fix"


def test_after_the_deploy_three_real_commands_prove_it_works():
    after = README.split("**After `sam deploy`**", 1)[1]
    words, block = after.split("```", 1)
    assert "Three commands prove it works" in " ".join(words.split())
    commands = [line.split("#", 1)[0].strip() for line in block.split("```", 1)[0].strip().splitlines()]
    assert len(commands) == 3
    for typed in commands:
        assert typed.startswith(".venv/bin/eks-audit ")  # where `make` installs it
        assert_a_real_command(typed.removeprefix(".venv/bin/"))


def test_the_local_serve_block_waits_for_the_ready_line_before_using_the_endpoint():
    serve = leaf_command(["local", "serve"])[0]
    port = next(p for p in serve.params if p.name == "port").default
    assert "READY http://127.0.0.1:<port>" in serve.help  # the contract the block waits for
    assert "`READY http://127.0.0.1:<port>`" in section("The local cloud")
    block = next(b for b in code_blocks() if b.startswith("eks-audit local serve "))
    lines = block.splitlines()
    started = re.fullmatch(r"eks-audit local serve (.*) > (\S+) &\s+#.*", lines[0])
    assert started, lines[0]
    options, output = started.groups()
    assert "--quiet" in options.split()  # READY is not lost among the controller's activity
    assert lines[1] == f"until grep -q READY {output}; do sleep 1; done"
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port} " in lines[2]


def test_every_sam_command_is_the_one_make_build_installs():
    """Bare `sam` is on no PATH after `make build`: the commands run .venv-sam/bin/sam, as Deploying says."""
    makefile = (ROOT / "Makefile").read_text()
    assert "SAM_VENV := .venv-sam" in makefile
    assert re.search(r"^build: .*\$\(SAM_STAMP\)", makefile, re.M)  # make build installs it
    assert "`make build` installs SAM as `.venv-sam/bin/sam`" in " ".join(section("Deploying").split())
    typed = [line.strip() for block in code_blocks() for line in block.splitlines()]
    # inline commands with their options, from Deploying on (the introduction names what `make test` runs)
    typed += re.findall(r"`(sam [^`]*--[^`]*)`", README.split("\n## Deploying\n", 1)[1])
    bare = [line for line in typed if line.split()[:1] == ["sam"]]
    assert not bare, bare
    assert any(line.startswith(".venv-sam/bin/sam deploy --guided") for line in typed)


def test_the_no_stack_message_points_where_the_readme_does():
    from eks_audit_cli.stack import StackNotFound

    message = str(StackNotFound(None, "eu-west-1"))
    assert "\n" not in message
    deploying = [line.split("#", 1)[0].strip() for line in code_blocks(section("Deploying"))[1].splitlines()]
    for command in re.findall(r"`([^`]+)`", message):
        assert command.removesuffix(" --region eu-west-1") in deploying, command
