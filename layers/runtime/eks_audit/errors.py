"""What an AWS error means for the controller (one place, so observe and apply agree)."""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
        "ServerException",
        "InternalFailure",
        "InternalServerError",
    }
)
# An update or logging change already in flight; retry later.
BUSY_CODES = frozenset({"ResourceInUseException", "OperationAbortedException"})


class ErrorKind(StrEnum):
    NOT_FOUND = "not-found"
    ALREADY_EXISTS = "already-exists"
    NO_CHANGES = "no-changes"  # "No changes needed for the logging config provided": success
    BUSY = "busy"  # update in progress, concurrent change
    NOT_READY = "not-ready"  # cluster not ACTIVE
    LIMIT = "limit"  # no room for another subscription filter
    INVALID_PARAMETER = "invalid-parameter"  # AWS refused a value we sent: permanent until fixed
    TRANSIENT = "transient"  # throttling and server errors that outlived the retries
    OTHER = "other"


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def error_message(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", "") or str(exc)


def classify(exc: ClientError) -> ErrorKind:
    code = error_code(exc)
    message = error_message(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code == "ResourceNotFoundException":
        return ErrorKind.NOT_FOUND
    if code == "ResourceAlreadyExistsException":
        return ErrorKind.ALREADY_EXISTS
    if code == "InvalidParameterException" and "No changes needed" in message:
        return ErrorKind.NO_CHANGES
    if code == "InvalidParameterException":
        return ErrorKind.INVALID_PARAMETER
    if code in BUSY_CODES:
        return ErrorKind.BUSY
    if code == "InvalidRequestException" and "ACTIVE" in message:
        return ErrorKind.NOT_READY
    if code == "LimitExceededException":
        return ErrorKind.LIMIT
    if code in THROTTLING_CODES or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.OTHER
