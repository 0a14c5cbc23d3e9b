"""The local cloud's front door: a WSGI middleware around moto's server that plays CloudTrail
(every watched call becomes an "AWS API Call via CloudTrail" event on the default bus, failed calls
with errorCode), enforces the API quotas and serves them through Service Quotas (quotas_overlay.py),
and injects faults (throttling and server errors at given rates) into EKS and CloudWatch Logs calls.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from eks_audit.regions import known_regions

from . import features_overlay, iam_overlay, pricing_overlay, scp_overlay
from .quotas_overlay import Quotas, answer_service_quotas

_CREDENTIAL_RE = re.compile(r"Credential=([^/]+)/\d+/([a-z0-9-]+)/([a-z0-9-]+)/")
# EKS is REST: (method, path) -> operation for the calls CloudTrail events are emitted for
_EKS_ROUTES = [
    ("POST", re.compile(r"^/clusters/?$"), "CreateCluster"),
    ("DELETE", re.compile(r"^/clusters/(?P<name>[^/]+)/?$"), "DeleteCluster"),
    ("POST", re.compile(r"^/clusters/(?P<name>[^/]+)/update-config/?$"), "UpdateClusterConfig"),
    ("GET", re.compile(r"^/clusters/?$"), "ListClusters"),
    ("GET", re.compile(r"^/clusters/(?P<name>[^/]+)/?$"), "DescribeCluster"),
    ("GET", re.compile(r"^/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)/?$"), "DescribeUpdate"),
    ("POST", re.compile(r"^/tags/(?P<resourceArn>.+)$"), "TagResource"),
    ("DELETE", re.compile(r"^/tags/(?P<resourceArn>.+)$"), "UntagResource"),
]
WATCHED = {
    "eks": {"CreateCluster", "UpdateClusterConfig", "DeleteCluster", "TagResource", "UntagResource"},
    "logs": {"CreateLogGroup", "DeleteLogGroup", "PutSubscriptionFilter", "DeleteSubscriptionFilter"},
}
FAULTY_SERVICES = ("eks", "logs")


@dataclass
class Faults:
    throttle: float = 0.0
    error: float = 0.0
    seed: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"throttle": 0, "error": 0, "calls": 0})
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for name, rate in (("throttle", self.throttle), ("error", self.error)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"--faults {name}={rate}: expected a fraction between 0 and 1")
        if self.seed is not None:
            self._random.seed(self.seed)

    @classmethod
    def parse(cls, text: str | None) -> Faults:
        """`throttle=0.3,error=0.1` -> Faults(0.3, 0.1); a clear error names what is wrong."""
        if not text:
            return cls()
        values: dict[str, float] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in ("throttle", "error", "seed"):
                raise ValueError(f"--faults: expected throttle=R,error=R (R a fraction), got {part!r}")
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"--faults {key}: expected a number, got {value!r}") from None
        seed = values.pop("seed", None)
        return cls(seed=None if seed is None else int(seed), **values)

    def draw(self) -> str | None:
        with self._lock:
            self.counts["calls"] += 1
            roll = self._random.random()
            if roll < self.throttle:
                self.counts["throttle"] += 1
                return "throttle"
            if roll < self.throttle + self.error:
                self.counts["error"] += 1
                return "error"
        return None


@dataclass
class Call:
    service: str
    region: str
    operation: str | None
    params: dict[str, Any]
    access_key: str


def identify(environ: dict[str, Any], body: bytes) -> Call | None:
    match = _CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    access_key, region, service = match.groups()
    params: dict[str, Any] = {}
    if body:
        try:
            parsed = json.loads(body)
            params = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            params = {}
    operation = None
    if service in ("logs", "organizations", "pricing"):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.rpartition(".")[2] or None
    elif service == "eks":
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        for route_method, pattern, name in _EKS_ROUTES:
            found = pattern.match(path) if method == route_method else None
            if found:
                operation = name
                path_params = {key: unquote(value) for key, value in found.groupdict().items()}
                query = parse_qs(environ.get("QUERY_STRING", ""))
                if "tagKeys" in query:
                    path_params["tagKeys"] = query["tagKeys"]
                params = {**path_params, **params}
                break
    return Call(service, region, operation, params, access_key)


# ThrottlingException's HTTP status per service, from botocore's models: EKS's shape says 429;
# CloudWatch Logs' gives none, so the JSON protocol's 400
THROTTLING_STATUS = {"eks": "429 Too Many Requests", "logs": "400 Bad Request"}


def _error_body(service: str, code: str, message: str) -> tuple[dict[str, str], bytes]:
    if service == "logs":
        return {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"__type": code, "message": message}
        ).encode()
    return {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
        {"message": message}
    ).encode()


HTTP_STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 409: "409 Conflict"}


def _forbidden(
    start_response: Callable,
    json_protocol: bool,
    json_code: str,
    xml_code: str,
    message: str,
    s3: bool = False,
) -> list[bytes]:
    """A 403 as each protocol says it: `json_code` in the JSON ones, `xml_code` in S3's and the
    query protocols' XML."""
    if json_protocol:
        payload = json.dumps({"__type": json_code, "message": message, "Message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", json_code)]
    elif s3:
        payload = f"<Error><Code>{xml_code}</Code><Message>{message}</Message></Error>".encode()
        headers = [("Content-Type", "application/xml")]
    else:
        payload = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{xml_code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    start_response("403 Forbidden", [*headers, ("Content-Length", str(len(payload)))])
    return [payload]


def _unknown_region(start_response: Callable, environ: dict[str, Any], region: str) -> list[bytes]:
    """What AWS answers a request signed for a region it does not have: 403, "Credential should be
    scoped to a valid region, not '<region>'." (SignatureDoesNotMatch in the query protocols,
    InvalidSignatureException in the JSON ones: as reported in aws/aws-sdk-php#732 and
    aws/aws-sdk-js-v3#5576); moto answers a 500."""
    message = f"Credential should be scoped to a valid region, not '{region}'."
    json_protocol = "json" in environ.get("CONTENT_TYPE", "")
    return _forbidden(
        start_response, json_protocol, "InvalidSignatureException", "SignatureDoesNotMatch", message
    )


def _json_answer(start_response: Callable, status: int, document: dict[str, Any]) -> list[bytes]:
    """A rest-json answer; an error names its code in x-amzn-ErrorType, as AWS's do."""
    payload = json.dumps(document).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if status >= 400:
        headers.append(("x-amzn-ErrorType", document.get("__type", "ValidationException")))
    start_response(HTTP_STATUS.get(status, f"{status} Error"), headers)
    return [payload]


def _denied(start_response: Callable, environ: dict[str, Any], service: str, message: str) -> list[bytes]:
    """AccessDenied, as an SCP's refusal reads in each protocol (scp_overlay.py)."""
    json_protocol = "json" in environ.get("CONTENT_TYPE", "") or service == "eks"  # EKS: rest-json
    return _forbidden(
        start_response, json_protocol, "AccessDeniedException", "AccessDenied", message, service == "s3"
    )


class Gateway:
    """WSGI middleware: faults first, then moto, then CloudTrail."""

    def __init__(
        self,
        app: Callable,
        faults: Faults,
        emit: Callable[[str, str, dict[str, Any]], None],
        quotas: Quotas | None = None,
    ):
        self.app = app
        self.faults = faults
        self.quotas = quotas or Quotas(None)
        self.emit = emit
        self.account = "123456789012"  # the management account of an organization; the only one otherwise
        # access key -> the account it acts in (a member account's deployer and controller)
        self.accounts: dict[str, str] = {}
        # called after a successful Organizations call that moves accounts (automatic deployment)
        self.on_organizations: Callable[[str, dict[str, Any]], None] | None = None
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (region, service, operation)
        # access key -> the IAM role whose session uses it (the controller's, as Lambda's would be)
        self.roles: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = identify(environ, body)
        account = self.account_of(call.access_key) if call is not None else self.account
        if call is not None and call.access_key in self.accounts:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = account  # moto serves the call in that account
        if call is not None and call.operation:
            self.calls[(call.region, call.service, call.operation)] += 1
        if call is not None and call.service == "servicequotas":
            answer = answer_service_quotas(
                self.quotas, account, call.region, environ.get("HTTP_X_AMZ_TARGET", ""), body
            )
            if answer is not None:
                status_code, document = answer
                payload = json.dumps(document).encode()
                status = "200 OK" if status_code == 200 else "400 Bad Request"
                start_response(
                    status,
                    [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(payload)))],
                )
                return [payload]
        if call is not None and call.region not in known_regions() and call.region != "aws-global":
            return _unknown_region(start_response, environ, call.region)
        if call is not None and (
            denied := scp_overlay.refusal(account, call.region, f"{call.service}:{call.operation or '*'}")
        ):
            return _denied(start_response, environ, call.service, denied)
        if call is not None and call.service == "iam" and (simulated := iam_overlay.answer_simulation(body)):
            start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(simulated)))])
            return [simulated]
        if call is not None and call.service == "pricing":
            priced = pricing_overlay.answer(environ.get("HTTP_X_AMZ_TARGET", ""), body, account)
            if priced is not None:
                return _json_answer(start_response, *priced)
        if call is not None and call.service in ("observabilityadmin", "securitylake"):
            answered = features_overlay.answer(
                call.service,
                environ.get("REQUEST_METHOD", ""),
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                body,
                account,
                call.region,
            )
            if answered is not None:
                return _json_answer(start_response, *answered)
        if call is not None and call.service in FAULTY_SERVICES and call.operation:
            fault = None
            if not self.quotas.admit(account, call.region, call.service, call.operation):
                fault = "throttle"
            elif self.faults.throttle or self.faults.error:
                fault = self.faults.draw()
            if fault is not None:
                code, status, message = (
                    ("ThrottlingException", THROTTLING_STATUS[call.service], "Rate exceeded")
                    if fault == "throttle"
                    else ("ServiceUnavailableException", "503 Service Unavailable", "injected server error")
                )
                headers, payload = _error_body(call.service, code, message)
                start_response(status, [*list(headers.items()), ("Content-Length", str(len(payload)))])
                self._cloudtrail(call, account, int(status.split()[0]), payload, code)
                return [payload]

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(headers)
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        if call is not None and call.operation in WATCHED.get(call.service, ()):
            payload = b"".join(chunks)
            error = captured["headers"].get("x-amzn-ErrorType") or captured["headers"].get("X-Amzn-ErrorType")
            self._cloudtrail(call, account, captured["status"], payload, error)
        if (
            call is not None
            and call.service == "organizations"
            and captured.get("status") == 200
            and self.on_organizations is not None
        ):
            self.on_organizations(call.operation or "", call.params)
        return chunks

    def account_of(self, access_key: str) -> str:
        """The account a call acts in: a key given an account here, else moto's own answer (an
        assumed role's session acts in the role's account), else the management account."""
        if access_key in self.accounts:
            return self.accounts[access_key]
        from moto.iam.models import get_account_id_from

        return get_account_id_from(access_key)

    def _identity(self, access_key: str, account: str) -> dict[str, Any]:
        """CloudTrail's userIdentity: an IAM user's key, or a role's session (cloudtrail-event-
        reference-user-identity.html: type AssumedRole, sessionContext.sessionIssuer the role)."""
        role = self.roles.get(access_key)
        if role is None:
            return {"type": "IAMUser", "accountId": account, "accessKeyId": access_key}
        name = role.rsplit("/", 1)[1]
        return {
            "type": "AssumedRole",
            "principalId": f"AROALOCAL:{name}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{name}",
            "accountId": account,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": role, "accountId": account, "userName": name}
            },
        }

    def _cloudtrail(
        self, call: Call, account: str, status: int, payload: bytes, error_code: str | None
    ) -> None:
        if call.operation not in WATCHED.get(call.service, ()):
            return
        try:
            response = json.loads(payload) if payload else None
        except ValueError:
            response = None
        if status >= 400 and not error_code and isinstance(response, dict):
            error_code = str(response.get("__type", "")).rpartition("#")[2] or "UnknownError"
        detail: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": self._identity(call.access_key, account),
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": f"{call.service}.amazonaws.com",
            "eventName": call.operation,
            "awsRegion": call.region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": "eks-audit-local",
            "requestParameters": call.params,
            "responseElements": response
            if status < 400 and isinstance(response, dict) and response
            else None,
            "requestID": str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
        }
        if status >= 400:
            detail["errorCode"] = error_code or "UnknownError"
            message = response.get("message") if isinstance(response, dict) else None
            detail["errorMessage"] = message or ""
        self.emit(call.region, f"aws.{call.service}", detail)
