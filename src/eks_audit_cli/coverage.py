"""Coverage of clusters: observe + plan, no change (what `status` shows and the demo checks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from botocore.exceptions import ClientError

from eks_audit.aws import ClusterApi
from eks_audit.errors import error_code, error_message
from eks_audit.model import Verdict
from eks_audit.observe import observe
from eks_audit.plan import filter_drift, make_plan
from eks_audit.settings import Settings


@dataclass(frozen=True)
class Row:
    region: str
    cluster: str
    status: str
    audit_logging: str  # on | off | -
    log_group: str  # present | missing | -
    our_filter: str  # ok | missing | differs (pattern, ...) | -
    foreign_filters: tuple[str, ...]
    verdict: str
    reason: str
    created_at: str | None = None  # ISO 8601
    delivery: dict | None = None  # delivery_health.Delivery, when the log group exists and was asked about
    cost: dict | None = None  # cost.Cost, monthly at the window's rate, when delivery was asked about

    def to_dict(self) -> dict:
        data = asdict(self)
        data["foreign_filters"] = list(self.foreign_filters)
        return data


def cluster_row(api: ClusterApi, settings: Settings, cluster: str, region: str) -> Row:
    try:
        observed = observe(api, cluster, region)
    except ClientError as exc:
        return Row(
            region,
            cluster,
            "?",
            "?",
            "?",
            "?",
            (),
            str(Verdict.ERROR),
            f"{error_code(exc)}: {error_message(exc)}",
        )
    plan = make_plan(observed, settings)
    if not observed.exists:
        return Row(region, cluster, "-", "-", "-", "-", (), str(plan.verdict), plan.reason)
    ours = next((f for f in observed.filters if f.name == settings.filter_name), None)
    if not observed.log_group_exists:
        filter_state = "-"
    elif ours is None:
        filter_state = "missing"
    else:
        drift = filter_drift(ours, settings)
        filter_state = f"differs ({', '.join(drift)})" if drift else "ok"
    return Row(
        region=region,
        cluster=cluster,
        status=observed.status or "?",
        audit_logging="on" if observed.audit_enabled else "off",
        log_group="present" if observed.log_group_exists else "missing",
        our_filter=filter_state,
        foreign_filters=tuple(f.name for f in observed.filters if f.name != settings.filter_name),
        verdict=str(plan.verdict),
        reason=plan.reason,
        created_at=observed.created_at.isoformat() if observed.created_at else None,
    )


def with_delivery(row: Row, delivery) -> Row:
    """The row with its delivery; a compliant cluster whose audit log does not get through is silent."""
    silent = row.verdict == str(Verdict.COMPLIANT) and delivery.state == "silent"
    return replace(
        row,
        delivery=delivery.to_dict(),
        verdict="silent" if silent else row.verdict,
        reason=delivery.reason if silent else row.reason,
    )


COLUMNS = (
    "region",
    "cluster",
    "status",
    "audit_logging",
    "log_group",
    "our_filter",
    "foreign_filters",
    "verdict",
)


def render_table(rows: list[Row]) -> str:
    """A plain-text table (no colour codes, so it reads the same in a log file)."""
    header = [
        "REGION",
        "CLUSTER",
        "STATUS",
        "AUDIT",
        "LOG GROUP",
        "OUR FILTER",
        "FOREIGN FILTERS",
        "DELIVERY",
        "VERDICT",
    ]
    body = [
        [
            r.region,
            r.cluster,
            r.status,
            r.audit_logging,
            r.log_group,
            r.our_filter,
            ", ".join(r.foreign_filters) or "-",
            (r.delivery or {}).get("state", "-"),
            r.verdict,
        ]
        for r in rows
    ]
    return columns([header, *body])


def columns(lines) -> str:
    """Rows of cells as aligned plain-text columns (the first row is the header)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(*lines, strict=False)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in lines
    )
