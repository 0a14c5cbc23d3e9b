"""A simulated AWS Organization of many member accounts, in process, for measuring the real
`eks-audit status --org` at a scale no local cloud reaches (benchmarks/org_scale.py).

Every botocore call of the process is answered here, at botocore's `before-send` event: the request
has been built, validated and signed as for AWS, and the answer goes back through botocore's own
retry loop (adaptive mode included) and eks-audit's rate limiters, which see throttling exactly as
they would from AWS. What the simulation adds, per call:
- a latency drawn from a log-normal distribution around a per-service median (AWS publishes none:
  MEDIAN_LATENCY_S below is an assumption, stated in docs/scale.md);
- a quota: a token bucket per account, region and API (QUOTAS, each with its page or "assumed");
  over it, the service's throttling answer in its own protocol;
- the answer: the shapes a real member stack gives, recorded once from the local cloud
  (benchmarks/org_shapes.json), with the account, region and names put in. JSON protocols are
  answered as JSON bodies that botocore parses; the XML and CBOR protocols (CloudFormation, STS,
  SNS, S3, CloudWatch) as an empty body of the right shape that `after-call` fills in.

Organizations pages ListAccounts by 20 and CloudFormation ListStackInstances by 100 (the most each
API returns: API_ListAccounts, API_ListStackInstances); STS AssumeRole hands out credentials that
name the member account, and every later call is answered as that account.

Written by hand: moto has no organization of 500 accounts with stacks in them, and its server would
measure itself rather than the code under test (as benchmarks/timelines.py says of EKS).
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp

from eks_audit_local.emulated import ServerBucket

SHAPES = Path(__file__).resolve().parent / "org_shapes.json"
MANAGEMENT = "123456789012"
HOME = "us-east-1"
MEMBER_STACK_SET = "eks-audit-org-members"
SPOKE_STACK_SET = "eks-audit-org-spokes"
ORG_STACK = "eks-audit-org"
ACCOUNTS_PAGE = 20  # API_ListAccounts: MaxResults 1-20
INSTANCES_PAGE = 100  # API_ListStackInstances: MaxResults 1-100

# Seconds, the median of each service's answer (assumed: AWS publishes no latency). Control-plane
# reads in the caller's region answer in tens of milliseconds; Organizations, a global service in
# us-east-1, and STS's credential minting a little slower.
MEDIAN_LATENCY_S = {"organizations": 0.08, "sts": 0.05, "cloudformation": 0.05}
DEFAULT_LATENCY_S = 0.035
LATENCY_SPREAD = 0.35  # sigma of the log-normal: p99 about 2.3 times the median

# Requests a second per account and region, and the burst (AWS's bucket holds a second of them).
QUOTAS = {
    "sts:AssumeRole": 600.0,  # IAM and STS quotas: "STS request quota" 600/s
    "logs:DescribeSubscriptionFilters": 5.0,  # CloudWatch Logs quotas
    "logs:TestMetricFilter": 5.0,  # CloudWatch Logs quotas
    "eks:ListClusters": 10.0,  # eks_audit.quotas.DOCUMENTED_DEFAULTS, the same source
    "eks:DescribeCluster": 10.0,
    "monitoring:GetMetricData": 50.0,  # CloudWatch quotas: GetMetricData 50 TPS
    "servicequotas:ListServiceQuotas": 10.0,  # Service Quotas quotas page
    "servicequotas:ListAWSDefaultServiceQuotas": 10.0,
}
DEFAULT_QUOTA = 10.0  # assumed for APIs whose rate AWS does not publish (Organizations, CloudFormation, ...)

# The answer a service gives when over its quota, per protocol (botocore/retries/standard.py
# counts each of these codes as throttling)
THROTTLE_CODES = {"organizations": "TooManyRequestsException", "eks": "TooManyRequestsException"}


@dataclass
class Counts:
    calls: Counter = field(default_factory=Counter)  # per service:Operation, retries included
    throttled: Counter = field(default_factory=Counter)
    sim_seconds: float = 0.0  # CPU the simulation itself spent building answers
    lock: threading.Lock = field(default_factory=threading.Lock)


class SimulatedOrg:
    """`accounts` members, each with its home stack and `regions` covered, `clusters` per region."""

    def __init__(self, accounts: int, regions: list[str], clusters: int, seed: int = 7):
        self.members = [f"{200000000000 + i:012d}" for i in range(accounts)]
        self.regions = regions
        self.cluster_names = [f"cluster-{j:02d}" for j in range(clusters)]
        self.counts = Counts()
        self._shapes = json.loads(SHAPES.read_text())
        self._buckets: dict[tuple[str, str, str], ServerBucket] = {}
        self._buckets_lock = threading.Lock()
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        self._call = threading.local()

    # -- botocore's events ------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[SimulatedOrg]:
        """Every botocore session created inside is answered by this simulation."""
        handlers = [
            ("before-parameter-build", self._remember_call),
            ("before-send", self._answer),
            ("after-call", self._fill),
        ]
        botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
        try:
            yield self
        finally:
            for handler in handlers:
                botocore.handlers.BUILTIN_HANDLERS.remove(handler)

    def _remember_call(self, params=None, model=None, **_kwargs) -> None:
        self._call.params = dict(params or {})
        self._call.model = model

    def _answer(self, request=None, **_kwargs) -> AWSResponse:
        model = self._call.model
        service = model.service_model
        prefix = service.signing_name or service.endpoint_prefix
        api = f"{prefix}:{model.name}"
        account, region = self._caller(request.headers.get("Authorization", b""))
        with self.counts.lock:
            self.counts.calls[api] += 1
        time.sleep(self._latency(service.endpoint_prefix))
        protocol = wire_protocol(request.headers, service.protocol)
        if not self._bucket(account, region, api).take():
            with self.counts.lock:
                self.counts.throttled[api] += 1
            return throttled(protocol, service.endpoint_prefix)
        started = time.thread_time()
        try:
            answer = self._respond(account, region, service.service_name, model.name, self._call.params)
        except SimError as exc:
            return error(protocol, exc.code, exc.message, exc.status)
        finally:
            with self.counts.lock:
                self.counts.sim_seconds += time.thread_time() - started
        if protocol in ("json", "rest-json"):
            return response(200, {"content-type": "application/json"}, json.dumps(answer).encode())
        self._call.fill = coerce(model.output_shape, answer)
        return response(200, {}, placeholder(protocol, model))

    def _fill(self, parsed=None, **_kwargs) -> None:
        fill = getattr(self._call, "fill", None)
        if fill is not None and parsed is not None and "Error" not in parsed:
            parsed.update(fill)
        self._call.fill = None

    # -- the simulated AWS ------------------------------------------------------------------------

    def _caller(self, authorization: bytes | str) -> tuple[str, str]:
        text = authorization.decode() if isinstance(authorization, bytes) else authorization
        match = re.search(r"Credential=([A-Z0-9]+)/\d+/([a-z0-9-]+)/", text)
        if not match:
            raise RuntimeError(f"an unsigned request reached the simulation: {text!r}")
        key, region = match.groups()
        return (key[4:16] if key.startswith("ASIA") else MANAGEMENT), region

    def _latency(self, service: str) -> float:
        median = MEDIAN_LATENCY_S.get(service, DEFAULT_LATENCY_S)
        with self._random_lock:
            return median * math.exp(self._random.gauss(0, LATENCY_SPREAD))

    def _bucket(self, account: str, region: str, api: str) -> ServerBucket:
        key = (account, region, api)
        bucket = self._buckets.get(key)
        if bucket is None:
            with self._buckets_lock:
                rate = QUOTAS.get(api, DEFAULT_QUOTA)
                bucket = self._buckets.setdefault(key, ServerBucket(rate, rate))
        return bucket

    def _respond(self, account: str, region: str, service: str, operation: str, params: dict) -> dict:
        handler = getattr(self, f"_{service.replace('-', '_')}_{operation}", None)
        if handler is not None:
            return handler(account, region, params)
        return self._recorded(f"{service}.{operation}", account, region, params)

    def _recorded(
        self, key: str, account: str, region: str, params: dict, match: str | None = None, **names: str
    ) -> dict:
        """The recorded answer for this kind of region (the home region or a spoke) and request
        (`match`: the request value that told the recorded answers apart, if not the request's own),
        with this account's and region's names in it."""
        if key not in self._shapes:
            raise RuntimeError(f"the simulation has no answer for {key}")
        kind = "home" if region == HOME else "spoke"
        candidates = self._shapes[key]
        asked = json.dumps(params)
        chosen = next(
            (
                c
                for c in candidates
                if c["kind"] == kind and (c["match"] == match if match is not None else c["match"] in asked)
            ),
            None,
        )
        chosen = chosen or next((c for c in candidates if c["kind"] == kind), candidates[0])
        text = chosen["text"].replace("{account}", account).replace("{region}", region)
        for placeholder_name, value in names.items():
            text = text.replace("{" + placeholder_name + "}", value)
        return json.loads(text)

    # the answers that depend on the request, or on the organization's size

    def _organizations_DescribeOrganization(self, account, region, params):
        return self._recorded("organizations.DescribeOrganization", account, region, params)

    def _organizations_ListAccounts(self, account, region, params):
        everyone = [MANAGEMENT, *self.members]
        start = int(params.get("NextToken") or 0)
        page = everyone[start : start + min(int(params.get("MaxResults") or ACCOUNTS_PAGE), ACCOUNTS_PAGE)]
        answer: dict[str, Any] = {
            "Accounts": [
                {
                    "Id": a,
                    "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/o-abcdefghij/{a}",
                    "Email": f"{a}@example.com",
                    "Name": "management" if a == MANAGEMENT else f"member-{a[-4:]}",
                    "Status": "ACTIVE",
                    "State": "ACTIVE",
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": 1764900000,
                }
                for a in page
            ]
        }
        if start + len(page) < len(everyone):
            answer["NextToken"] = str(start + len(page))
        return answer

    def _cloudformation_ListStackInstances(self, account, region, params):
        name = params["StackSetName"]
        if name == MEMBER_STACK_SET:
            pairs = [(a, HOME) for a in self.members]
        elif name == SPOKE_STACK_SET:
            pairs = [(a, r) for a in self.members for r in self.regions if r != HOME]
        else:
            raise SimError("StackSetNotFoundException", f"StackSet {name} not found")
        start = int(params.get("NextToken") or 0)
        page = pairs[start : start + min(int(params.get("MaxResults") or INSTANCES_PAGE), INSTANCES_PAGE)]
        answer: dict[str, Any] = {
            "Summaries": [
                {
                    "StackSetId": f"{name}:00000000-0000-4000-8000-000000000000",
                    "Region": r,
                    "Account": a,
                    "StackId": stack_id(a, r, name),
                    "Status": "CURRENT",
                    "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
                }
                for a, r in page
            ]
        }
        if start + len(page) < len(pairs):
            answer["NextToken"] = str(start + len(page))
        return answer

    def _cloudformation_DescribeStacks(self, account, region, params):
        if account == MANAGEMENT:  # the organization's stack by name, or every stack (no eks-audit one)
            name = params.get("StackName")
            if name not in (None, ORG_STACK):
                raise SimError("ValidationError", f"Stack with id {name} does not exist")
            return self._recorded(
                "cloudformation.DescribeStacks", account, region, params, ORG_STACK if name else ""
            )
        return self._recorded(
            "cloudformation.DescribeStacks",
            account,
            region,
            params,
            "StackSet-",
            covered=",".join(self.regions),
            spokes=",".join(r for r in self.regions if r != HOME),
        )

    def _sts_AssumeRole(self, account, region, params):
        member = params["RoleArn"].split(":")[4]
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{member}AAAA",
                "SecretAccessKey": "simulated",
                "SessionToken": "simulated",
                "Expiration": "2099-01-01T00:00:00Z",
            },
            "AssumedRoleUser": {"AssumedRoleId": f"AROA{member}:s", "Arn": f"{params['RoleArn']}/s"},
        }

    def _sts_GetCallerIdentity(self, account, region, params):
        return {
            "UserId": "AIDASIMULATED",
            "Account": account,
            "Arn": f"arn:aws:iam::{account}:user/simulated",
        }

    def _eks_ListClusters(self, account, region, params):
        return {"clusters": [] if account == MANAGEMENT else self.cluster_names}

    def _eks_DescribeCluster(self, account, region, params):
        return self._named("eks.DescribeCluster", account, region, params, params["name"])

    def _logs_DescribeSubscriptionFilters(self, account, region, params):
        name = params["logGroupName"].split("/")[3]
        return self._named("logs.DescribeSubscriptionFilters", account, region, params, name)

    def _named(self, key, account, region, params, cluster: str) -> dict:
        if cluster not in self.cluster_names:
            raise SimError("ResourceNotFoundException", f"No cluster found for name: {cluster}.", 404)
        return self._recorded(key, account, region, {}, cluster=cluster)

    def _monitoring_GetMetricData(self, account, region, params):
        return {
            "MetricDataResults": [
                {"Id": q["Id"], "Label": q["Id"], "Timestamps": [], "Values": [], "StatusCode": "Complete"}
                for q in params.get("MetricDataQueries", [])
            ]
        }

    _cloudwatch_GetMetricData = _monitoring_GetMetricData

    def buckets(self) -> int:
        return len(self._buckets)


class SimError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def stack_id(account: str, region: str, stack_set: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/StackSet-{stack_set}-{account}/{account}"


# -- the wire: bodies in each protocol -------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body

    def read(self, *_args):
        return self._body


def response(status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    return AWSResponse("https://simulated.invalid/", status, headers, _Raw(body))


def wire_protocol(headers, declared: str) -> str:
    """The protocol the client chose for this request: botocore picks one of a service's protocols
    (CloudWatch lists smithy-rpc-v2-cbor, json and query), and says which in the request."""
    if headers.get("smithy-protocol"):
        return "smithy-rpc-v2-cbor"
    if headers.get("X-Amz-Target"):
        return "json"
    content_type = headers.get("Content-Type", b"")
    content_type = content_type.decode() if isinstance(content_type, bytes) else content_type
    if content_type.startswith("application/x-www-form-urlencoded"):
        return "query"
    return declared


def placeholder(protocol: str, model) -> bytes:
    """An empty answer of the shape botocore's parser for the protocol accepts; `after-call` fills it."""
    if protocol == "query":
        wrapper = (
            model.output_shape.serialization.get("resultWrapper", f"{model.name}Result")
            if model.output_shape
            else f"{model.name}Result"
        )
        return f"<{model.name}Response><{wrapper}></{wrapper}></{model.name}Response>".encode()
    return b""


def throttled(protocol: str, prefix: str) -> AWSResponse:
    code = THROTTLE_CODES.get(prefix)
    if protocol == "query":
        return error(protocol, code or "Throttling", "Rate exceeded", 400)
    if protocol == "rest-xml":
        return error(protocol, "SlowDown", "Please reduce your request rate.", 503)
    return error(protocol, code or "ThrottlingException", "Rate exceeded", 400)


def error(protocol: str, code: str, message: str, status: int) -> AWSResponse:
    if protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>simulated</RequestId></ErrorResponse>"
        )
        return response(status, {}, body.encode())
    if protocol == "rest-xml":
        return response(
            status, {}, f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        )
    if protocol == "smithy-rpc-v2-cbor":
        return response(
            status, {"smithy-protocol": "rpc-v2-cbor"}, cbor_map({"__type": code, "message": message})
        )
    return response(
        status,
        {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code},
        json.dumps({"__type": code, "message": message}).encode(),
    )


def cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (RFC 8949: major type 5, then type 3 per string)."""

    def text(value: str) -> bytes:
        data = value.encode()
        if len(data) < 24:
            return bytes([0x60 | len(data)]) + data
        return bytes([0x78, len(data)]) + data  # one-byte length: the strings here are short

    return bytes([0xA0 | len(items)]) + b"".join(text(k) + text(v) for k, v in items.items())


def coerce(shape, value):
    """A recorded answer (JSON: timestamps as text) in the types botocore's parser would give."""
    if shape is None or value is None:
        return value
    if shape.type_name == "structure":
        return {k: coerce(shape.members.get(k), v) for k, v in value.items()}
    if shape.type_name == "list":
        return [coerce(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return parse_timestamp(value)
    return value
