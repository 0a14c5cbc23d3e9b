"""Carry out a plan, in its order, and settle the outcome from what AWS answered."""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from .aws import ClusterApi
from .errors import ErrorKind, classify, error_code, error_message
from .model import Action, Outcome, Plan, Verdict
from .settings import Settings


@dataclass
class _Progress:
    taken: list[Action] = field(default_factory=list)
    requeue_after: int | None = None
    conflict: bool = False
    error: str | None = None
    permanent: bool = False
    gone: bool = False
    update_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def wait(self, seconds: int, note: str) -> None:
        self.requeue_after = max(self.requeue_after or 0, seconds)
        self.notes.append(note)


def apply_plan(plan: Plan, api: ClusterApi, settings: Settings) -> Outcome:
    progress = _Progress(requeue_after=plan.requeue_after)
    foreign = plan.foreign_filters
    conflict = plan.verdict is Verdict.CONFLICT
    cluster = plan.cluster

    for action in plan.actions:
        try:
            if action is Action.CREATE_LOG_GROUP:
                _create_log_group(api, cluster, settings)
            elif action is Action.PUT_FILTER:
                api.put_filter(
                    cluster,
                    settings.filter_name,
                    settings.filter_pattern,
                    settings.firehose_arn,
                    settings.logs_role_arn,
                )
            elif action is Action.ENABLE_AUDIT:
                progress.update_id = api.enable_audit(cluster)
                if progress.update_id:
                    # UpdateClusterConfig is asynchronous: come back and confirm
                    progress.wait(settings.wait_updating_seconds, "audit logging update issued")
            progress.taken.append(action)
        except ClientError as exc:
            kind = classify(exc)
            if kind is ErrorKind.NO_CHANGES:  # audit logging was already on
                progress.taken.append(action)
                continue
            if kind is ErrorKind.LIMIT:
                conflict = True
                foreign = _foreign_filters(api, cluster, settings) or foreign
                continue  # audit logging is enabled all the same
            if kind is ErrorKind.NOT_FOUND and action is Action.ENABLE_AUDIT:
                progress.gone = True
                break
            if kind in (ErrorKind.BUSY, ErrorKind.NOT_READY, ErrorKind.TRANSIENT, ErrorKind.NOT_FOUND):
                progress.wait(settings.wait_updating_seconds, f"{action}: {error_code(exc)}, retry later")
            elif kind is ErrorKind.INVALID_PARAMETER:
                progress.error, progress.permanent = refused(action, exc, settings), True
            else:
                progress.error = f"{action}: {error_code(exc)}: {error_message(exc)}"
            # never enable audit logging before the filter that ships it is in place
            break

    reason = "; ".join([plan.reason, *progress.notes]) if progress.notes else plan.reason
    if progress.gone:
        verdict, reason = Verdict.GONE, "cluster not found"
    elif conflict:
        verdict = Verdict.CONFLICT
        reason = f"no room for subscription filter {settings.filter_name!r}; foreign filters: " + ", ".join(
            foreign
        )
    elif progress.error is not None:
        verdict, reason = Verdict.ERROR, progress.error
    elif plan.verdict is Verdict.ERROR:
        verdict = Verdict.ERROR
    elif progress.requeue_after is not None:
        verdict = Verdict.PENDING
    else:
        verdict, reason = Verdict.COMPLIANT, f"repaired ({reason})"
    return Outcome(
        cluster=cluster,
        region=plan.region,
        verdict=verdict,
        reason=reason,
        actions=tuple(progress.taken),
        requeue_after=None if verdict is Verdict.GONE else progress.requeue_after,
        foreign_filters=foreign,
        update_id=progress.update_id,
        permanent=progress.permanent and verdict is Verdict.ERROR,
    )


def refused(action: Action, exc: ClientError, settings: Settings) -> str:
    """AWS's own words for a value it refuses, and what to fix."""
    answer = f"{error_code(exc)}: {error_message(exc)}"
    if action is Action.PUT_FILTER and "deliver test message" in error_message(exc):
        # the destination, not the pattern: CloudWatch Logs sends a test message when it puts a filter
        return (
            f"the destination refused CloudWatch Logs' test message ({answer}); check that the stream "
            f"{settings.firehose_arn} exists and is ACTIVE and that the role {settings.logs_role_arn} "
            "may put records to it"
        )
    if action is Action.PUT_FILTER:
        return (
            f"CloudWatch Logs refused subscription filter {settings.filter_name!r} ({answer}); "
            f"check the stack's FilterPattern {settings.filter_pattern!r} "
            "(`eks-audit filter-test --pattern ... --check-with-aws`)"
        )
    return f"{action}: AWS refused the request ({answer})"


def _create_log_group(api: ClusterApi, cluster: str, settings: Settings) -> None:
    try:
        api.create_log_group(cluster)
    except ClientError as exc:
        if classify(exc) is not ErrorKind.ALREADY_EXISTS:
            raise
        return  # someone else's group: leave its retention alone
    if settings.log_retention_days:
        api.put_retention(cluster, settings.log_retention_days)


def _foreign_filters(api: ClusterApi, cluster: str, settings: Settings) -> tuple[str, ...]:
    try:
        return tuple(f.name for f in api.subscription_filters(cluster) if f.name != settings.filter_name)
    except ClientError:
        return ()
