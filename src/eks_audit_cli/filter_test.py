"""`eks-audit filter-test`: what a filter pattern keeps and drops of real audit lines, and what
the dropped lines are (by request URI, verb and user), so that a pattern's cost is visible."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field

import click
import orjson

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.delivery import encode_record
from eks_audit.filter_pattern import CompiledPattern, PatternError, compile_pattern

from . import cost, prices
from .aws_evaluator import PatternRefused, Sample, aws_matches, disagreements
from .options import global_options
from .session import Aws
from .sources import read_messages


@dataclass
class Tally:
    lines: int = 0
    kept: int = 0
    dropped: int = 0
    bytes_kept: int = 0
    bytes_dropped: int = 0


@dataclass
class Breakdown:
    """Dropped lines and bytes by request URI (path, without the query), verb and user."""

    lines: dict[str, Counter] = field(
        default_factory=lambda: {"request_uri": Counter(), "verb": Counter(), "user": Counter()}
    )
    bytes: dict[str, Counter] = field(
        default_factory=lambda: {"request_uri": Counter(), "verb": Counter(), "user": Counter()}
    )

    def add(self, event: object, size: int) -> None:
        if not isinstance(event, dict):
            keys = {"request_uri": "(not JSON)", "verb": "(not JSON)", "user": "(not JSON)"}
        else:
            uri = event.get("requestURI")
            user = event.get("user")
            keys = {
                "request_uri": uri.split("?", 1)[0] if isinstance(uri, str) else "(none)",
                "verb": str(event.get("verb", "(none)")),
                "user": str(user.get("username", "(none)")) if isinstance(user, dict) else "(none)",
            }
        for dimension, key in keys.items():
            self.lines[dimension][key] += 1
            self.bytes[dimension][key] += size

    def top(self, n: int) -> dict[str, list[dict]]:
        return {
            dimension: [
                {"value": key, "lines": count, "bytes": self.bytes[dimension][key]}
                for key, count in counter.most_common(n)
            ]
            for dimension, counter in self.lines.items()
        }


def evaluate(
    pattern: CompiledPattern, messages, tally: Tally, breakdown: Breakdown | None = None, on_line=None
) -> None:
    """Evaluate raw messages (bytes). JSON patterns parse each line once (orjson)."""
    json_pattern = pattern.kind == "json"
    matches_parsed, matches = pattern.matches_parsed if json_pattern else None, pattern.matches
    for line in messages:
        size = len(line)
        event = None
        if json_pattern:
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                event = None
            kept = event is not None and matches_parsed(event)
        else:
            kept = matches(line.decode("utf-8", errors="replace"))
        tally.lines += 1
        if kept:
            tally.kept += 1
            tally.bytes_kept += size
        else:
            tally.dropped += 1
            tally.bytes_dropped += size
            if breakdown is not None:
                if event is None and not json_pattern:
                    try:
                        event = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        event = None
                breakdown.add(event, size)
        if on_line is not None:
            on_line(line, kept)


def _load_pattern(pattern: str | None, pattern_file) -> str:
    if pattern is not None and pattern_file is not None:
        raise click.UsageError("give --pattern or --pattern-file, not both")
    if pattern_file is not None:
        return pattern_file.read().strip("\n")
    return STANDARD_FILTER_PATTERN if pattern is None else pattern


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


@click.command("filter-test")
@click.option(
    "--pattern",
    help="The filter pattern. Default: eks-audit's standard pattern (FilterPattern's default in "
    "template.yaml; a deployed stack's own pattern is not read: give it with --pattern).",
)
@click.option("--pattern-file", type=click.File("r"), help="Read the pattern from a file.")
@click.option(
    "--print", "print_", type=click.Choice(["kept", "dropped"]), help="Write those lines to stdout."
)
@click.option(
    "--top",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="How many request URIs, verbs and users to list among the dropped lines.",
)
@click.option(
    "--check-with-aws",
    is_flag=True,
    help="Also evaluate a sample of the lines with AWS's own engine (CloudWatch Logs TestMetricFilter, "
    "in --region or the profile's region) and list every line where the answers differ; exit 1 if any.",
)
@click.option(
    "--sample",
    "sample_size",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="How many lines --check-with-aws sends (50 per TestMetricFilter call).",
)
@click.option(
    "--daily-volume",
    default="1GB",
    show_default=True,
    help="The audit log a day (uncompressed, as CloudWatch Logs ingests it) the monthly estimate is "
    "worked out at: 500MB, 1GB, 2.5TB.",
)
@click.argument("files", nargs=-1, type=click.File("rb"))
@global_options
@click.pass_obj
def command(
    globals_, pattern, pattern_file, print_, top, check_with_aws, sample_size, daily_volume, files
) -> None:
    """Evaluate a CloudWatch Logs filter pattern over audit log messages and report counts and bytes
    kept and dropped, and the top request URIs, verbs and users among the dropped.

    FILES (or - / nothing for standard input) hold one raw log message per line, a CloudWatch Logs
    export (`<timestamp> <message>` lines, gzip or not), delivered Firehose objects, the JSON of
    `aws logs filter-log-events`, or one JSON message (pretty-printed or not) or a JSON array of them.
    """
    try:
        daily_bytes = parse_volume(daily_volume)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--daily-volume") from None
    text = _load_pattern(pattern, pattern_file)
    sample = Sample(sample_size) if check_with_aws else None
    compression = Compression()
    try:
        compiled = compile_pattern(text)
    except PatternError as exc:
        click.echo(f"eks-audit filter-test: this pattern cannot be evaluated here: {exc}", err=True)
        if sample is not None:
            problems: list[str] = []
            for line in _messages(files, problems):
                sample.offer(line.decode("utf-8", errors="replace"))
            _report_problems(problems)
            _aws_only(globals_, text, sample)
        sys.exit(2)

    out = sys.stdout.buffer
    printing = None if print_ is None else print_ == "kept"

    def on_line(line: bytes, kept: bool) -> None:
        if kept:
            compression.offer(line)
        if kept is printing:
            out.write(line + b"\n")
        if sample is not None:
            sample.offer(line.decode("utf-8", errors="replace"))

    # a JSON pattern is for JSON messages (audit log lines): input of another kind is refused
    refused: list[str] | None = [] if text.lstrip().startswith("{") else None
    tally, breakdown, problems = Tally(), Breakdown() if top else None, []
    evaluate(compiled, _messages(files, problems, refused), tally, breakdown, on_line)
    out.flush()
    _report_problems(problems)
    if refused:  # a file that is no audit log would make every figure wrong
        sys.exit(2)
    if tally.lines == 0:
        if not problems:  # else the problems above say why, a line each
            click.echo("eks-audit filter-test: no log messages were read", err=True)
        sys.exit(2)

    echo = (lambda s: click.echo(s, err=True)) if print_ else click.echo
    report = {"pattern": text, **asdict(tally), "dropped_by": breakdown.top(top) if breakdown else {}}
    report["estimate"] = monthly_estimate(tally, daily_bytes, compression.ratio())
    check = None if sample is None else _check(globals_, compiled, sample)
    if check is not None:
        report["check_with_aws"] = check
    if globals_.json:
        echo(json.dumps(report))
    else:
        _render(echo, tally, report)
    if check is not None and check["disagreements"]:
        sys.exit(1)


def _messages(files, problems: list[str], refused: list[str] | None = None):
    for source in files or (click.open_file("-", "rb"),):
        yield from read_messages(source, problems, getattr(source, "name", "<stdin>"), refused)


def _report_problems(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"eks-audit filter-test: {problem}", err=True)


def _logs_client(globals_):
    aws = Aws(globals_.profile, globals_.endpoint_url, globals_.regions)
    region = (globals_.regions or (None,))[0] or aws.session.region_name
    if not region:
        raise click.UsageError("--check-with-aws needs a region: give --region")
    return region, aws.client("logs", region)


def _check(globals_, compiled: CompiledPattern, sample: Sample) -> dict:
    region, logs = _logs_client(globals_)
    local = {message: compiled.matches(message) for message in sample.items}
    try:
        matched = aws_matches(logs, compiled.text, sample.items)
    except PatternRefused as exc:
        return {
            "region": region,
            "sampled": len(local),
            "refused_by_aws": str(exc),
            "disagreements": [{"message": "(the pattern itself)", "local": True, "aws": False}],
        }
    found = [asdict(d) for d in disagreements(local, matched)]
    return {"region": region, "sampled": len(local), "refused_by_aws": None, "disagreements": found}


def _aws_only(globals_, text: str, sample: Sample) -> None:
    """The pattern is beyond this evaluator: say what AWS's engine makes of the sample."""
    region, logs = _logs_client(globals_)
    try:
        matched = aws_matches(logs, text, sample.items)
    except PatternRefused as exc:
        click.echo(f"CloudWatch Logs ({region}) refuses it too: {exc}", err=True)
        return
    kept = sum(1 for message in dict.fromkeys(sample.items) if message in matched)
    click.echo(
        f"CloudWatch Logs ({region}) accepts it: of {len(set(sample.items))} sampled lines it keeps {kept}",
        err=True,
    )


VOLUME_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB)\s*", re.IGNORECASE)
EXPIRY_DAYS = 30  # ObjectExpiryDays' default


def parse_volume(text: str) -> float:
    """'1GB' -> bytes (a GB is 2^30 bytes, as AWS bills it)."""
    match = VOLUME_RE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a volume: give a number and KB, MB, GB or TB (1GB, 500MB)")
    scale = {"KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}[match.group(2).upper()]
    return float(match.group(1)) * scale


class Compression:
    """The ratio of what Firehose receives to the kept lines' size: CloudWatch Logs sends each
    subscription record as its own gzip member of a JSON envelope around a batch of events
    (eks_audit.delivery.encode_record), measured here on batches of `BATCH` kept lines, over the first
    8 MB of them: enough for a ratio, and the evaluation stays fast. How many events AWS puts in a
    record is not documented; fewer per record compress worse."""

    LIMIT = 8 * 1024 * 1024
    BATCH = 100

    def __init__(self) -> None:
        self._batch: list[str] = []
        self.raw = 0
        self.compressed = 0

    def offer(self, line: bytes) -> None:
        if self.raw >= self.LIMIT:
            return
        self.raw += len(line)
        self._batch.append(line.decode("utf-8", errors="replace"))
        if len(self._batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            record = encode_record(
                "/aws/eks/sample/cluster", "kube-apiserver-audit", ((0, m) for m in self._batch)
            )
            self.compressed += len(record)
            self._batch = []

    def ratio(self) -> float:
        """Compressed record bytes per kept byte; 1.0 with nothing kept."""
        self._flush()
        return self.compressed / self.raw if self.raw else 1.0


def monthly_estimate(tally: Tally, daily_bytes: float, ratio: float) -> dict:
    """cost.estimate for a day at `daily_bytes`, with the sample's shares of bytes and lines kept."""
    total = tally.bytes_kept + tally.bytes_dropped
    kept_share = tally.bytes_kept / total if total else 0.0
    table = prices.table_prices(prices.TABLE_REGION)
    figures = cost.estimate(  # the kept share by bytes, known exactly here, sizes the savings
        ingested_bytes=daily_bytes,
        forwarded_bytes=daily_bytes * kept_share * ratio,
        received_events=total,
        forwarded_events=tally.bytes_kept,
        window_s=86400,
        prices=table,
        expiry_days=EXPIRY_DAYS,
    )
    return {
        "daily_volume_bytes": int(daily_bytes),
        "compression": round(ratio, 4),
        "object_expiry_days": EXPIRY_DAYS,
        "per": "month",
        "currency": "USD",
        "prices": table.to_dict(),
        **figures.to_dict(),
    }


def _render_estimate(echo, estimate: dict) -> None:
    saves = estimate["filter_saves"]
    echo(
        f"a month at {cost.size(estimate['daily_volume_bytes'])} a day: CloudWatch Logs ingestion "
        f"{cost.dollars(estimate['logs_ingestion'])} (paid whether shipped or not), Firehose "
        f"{cost.dollars(estimate['firehose'])}, S3 {cost.dollars(estimate['s3'])} "
        f"({estimate['object_expiry_days']} days kept), total {cost.dollars(estimate['total'])}; "
        + (
            "the pattern saves nothing to estimate (it keeps no line)"
            if saves is None
            else f"the pattern saves about {cost.dollars(saves)} downstream"
        )
    )
    echo(
        f"  forwarded compressed at {estimate['compression']:.0%} of its size (records of {Compression.BATCH} kept lines); "
        "Firehose rounds each record up to 5 KB, not counted here; prices: "
        f"{estimate['prices']['source']}, {estimate['prices']['region']}"
    )


def _render(echo, tally: Tally, report: dict) -> None:
    total_bytes = tally.bytes_kept + tally.bytes_dropped
    echo(
        f"lines {tally.lines}: kept {tally.kept} ({_percent(tally.kept, tally.lines)}), "
        f"dropped {tally.dropped} ({_percent(tally.dropped, tally.lines)})"
    )
    echo(
        f"bytes {_size(total_bytes)}: kept {_size(tally.bytes_kept)} ({_percent(tally.bytes_kept, total_bytes)}), "
        f"dropped {_size(tally.bytes_dropped)}"
    )
    _render_estimate(echo, report["estimate"])
    for dimension, rows in report["dropped_by"].items():
        if rows:
            echo(f"dropped by {dimension.replace('_', ' ')}:")
            for row in rows:
                echo(f"  {row['lines']:>8} lines {_size(row['bytes']):>10}  {row['value']}")
    check = report.get("check_with_aws")
    if check is None:
        return
    if check["refused_by_aws"]:
        echo(f"AWS ({check['region']}) refuses this pattern: {check['refused_by_aws']}")
        return
    differing = check["disagreements"]
    echo(
        f"checked with AWS ({check['region']}, TestMetricFilter): {check['sampled']} sampled lines, "
        f"{len(differing)} answered differently"
    )
    for item in differing:
        local = "kept" if item["local"] else "dropped"
        aws = "kept" if item["aws"] else "dropped"
        echo(f"  here {local}, AWS {aws}: {item['message'][:300]}")
