"""CloudWatch Logs calls as AWS documents them, where moto 5.2.5 does otherwise or not at all.

After `install()`, in-process and over HTTP alike:
- PutSubscriptionFilter with the name of a filter the group already has updates it in place, even
  when the group holds the maximum number of filters (moto refuses with LimitExceededException); a
  new name on a full group is refused with LimitExceededException. AWS: API_PutSubscriptionFilter.html
  ("Each log group can have up to two subscription filters. If you are updating an existing filter,
  you must specify the correct name in filterName").
- PutSubscriptionFilter refuses a destination in another region (InvalidParameterException): a
  subscription filter sends only to a stream in the same account and region
  (firehose/latest/dev/basic-write.html, AWS-FACTS.md "Several regions").
- PutSubscriptionFilter refuses a pattern that CloudWatch Logs would not read with
  InvalidParameterException (moto stores any text). Which patterns are valid is decided by
  eks-audit's evaluator, which follows FilterAndPatternSyntax.html; the message text is ours.
- A new subscription filter to a Firehose sends it a CONTROL_MESSAGE record ("CloudWatch sends a
  test record when the filter is created", SubscriptionFilters / Firehose example pages).
- TestMetricFilter (not in moto) evaluates a pattern over 1 to 50 messages with the same evaluator
  and answers `matches` [{eventNumber, eventMessage, extractedValues}] (API_TestMetricFilter.html);
  eventNumber counts from 1 here: AWS does not document its base, and no client of ours relies on it.
"""

from __future__ import annotations

from eks_audit.constants import DEFAULT_SUBSCRIPTION_FILTER_LIMIT
from eks_audit.delivery import control_record
from eks_audit.filter_pattern import PatternError, compile_pattern

_installed = False
TEST_MESSAGES_MAX = 50


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    from moto.core.responses import ActionResult
    from moto.logs.exceptions import InvalidParameterException, LimitExceededException
    from moto.logs.models import LogGroup, SubscriptionFilter
    from moto.logs.responses import LogsResponse

    from . import delivery

    def put_subscription_filter(self, filter_name, filter_pattern, destination_arn, role_arn):
        destination_region = destination_arn.split(":")[3] if destination_arn.count(":") >= 5 else ""
        group_region = self.arn.split(":")[3]
        if destination_region and destination_region != group_region:
            raise InvalidParameterException(
                f"The destination {destination_arn} is not in the log group's region ({group_region})"
            )
        try:
            compile_pattern(filter_pattern or "")
        except PatternError as exc:
            raise InvalidParameterException(f"Invalid filter pattern: {exc.problem}") from None
        existing = self.subscription_filters.get(filter_name)
        if existing is not None:  # the same name updates in place, however full the group is
            existing.update(filter_pattern, destination_arn, role_arn)
            return
        if len(self.subscription_filters) >= DEFAULT_SUBSCRIPTION_FILTER_LIMIT:
            raise LimitExceededException()
        self.subscription_filters[filter_name] = SubscriptionFilter(
            name=filter_name,
            log_group_name=self.name,
            filter_pattern=filter_pattern,
            destination_arn=destination_arn,
            role_arn=role_arn,
        )
        if destination_arn.split(":")[2] == "firehose":
            delivery.buffer_record(destination_arn, control_record())

    def test_metric_filter(self):
        pattern = self._get_param("filterPattern") or ""
        messages = self._get_param("logEventMessages") or []
        if not 1 <= len(messages) <= TEST_MESSAGES_MAX:
            raise InvalidParameterException(
                constraint=f"Member must have length between 1 and {TEST_MESSAGES_MAX}",
                parameter="logEventMessages",
                value=len(messages),
            )
        try:
            compiled = compile_pattern(pattern)
        except PatternError as exc:
            raise InvalidParameterException(f"Invalid filter pattern: {exc.problem}") from None
        matches = [
            {"eventNumber": number, "eventMessage": message, "extractedValues": {}}
            for number, message in enumerate(messages, start=1)
            if compiled.matches(message)
        ]
        return ActionResult({"matches": matches})

    LogGroup.put_subscription_filter = put_subscription_filter
    LogsResponse.test_metric_filter = test_metric_filter
