"""Values fixed by the product (not settings)."""

# The consumer's default pattern (DESIGN.md section 1): complete responses only, no health/metrics noise.
STANDARD_FILTER_PATTERN = (
    '{ $.stage = "ResponseComplete" && $.requestURI != "/version" && $.requestURI != "/version?*" '
    '&& $.requestURI != "/metrics" && $.requestURI != "/metrics?*" && $.requestURI != "/logs" '
    '&& $.requestURI != "/logs?*" && $.requestURI != "/swagger*" && $.requestURI != "/livez*" '
    '&& $.requestURI != "/readyz*" && $.requestURI != "/healthz*" }'
)
DEFAULT_FILTER_NAME = "eks-audit"
SKIP_TAG = "eks-audit:skip"
AUDIT_LOG_TYPE = "audit"
# PutSubscriptionFilter API reference: "Each log group can have up to two subscription filters".
DEFAULT_SUBSCRIPTION_FILTER_LIMIT = 2
# SQS caps DelaySeconds at 15 minutes; longer waits are chained.
SQS_MAX_DELAY_SECONDS = 900
# Values PutRetentionPolicy accepts.
VALID_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
