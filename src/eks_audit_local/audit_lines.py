"""Realistic Kubernetes audit log lines, each labelled with whether the standard pattern keeps it.

The label comes from how the line was made (its category), not from the evaluator, so the demo,
the end-to-end tests and the benchmarks can check the pipeline against an independent truth.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

USERS = [
    ("kubernetes-admin", ["system:masters", "system:authenticated"]),
    ("eks:node-manager", ["system:authenticated"]),
    ("system:serviceaccount:kube-system:coredns", ["system:serviceaccounts", "system:authenticated"]),
    ("system:node:ip-10-0-1-23.ec2.internal", ["system:nodes", "system:authenticated"]),
    ("arn:aws:sts::123456789012:assumed-role/platform-admin/alice", ["system:authenticated"]),
]
API_CALLS = [
    ("list", "/api/v1/namespaces/default/pods?limit=500", "pods", "default"),
    ("get", "/api/v1/namespaces/kube-system/configmaps/aws-auth", "configmaps", "kube-system"),
    ("create", "/apis/apps/v1/namespaces/payments/deployments", "deployments", "payments"),
    ("delete", "/api/v1/namespaces/payments/secrets/db-password", "secrets", "payments"),
    (
        "patch",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cluster-admin",
        "clusterrolebindings",
        None,
    ),
    ("watch", "/api/v1/nodes?watch=true", "nodes", None),
    ("get", "/api/v1/namespaces/payments/pods/web-0/exec?command=sh&stdin=true", "pods", "payments"),
]
NOISE_URIS = [
    "/healthz",
    "/livez?verbose",
    "/readyz",
    "/version",
    "/version?timeout=32s",
    "/metrics",
    "/openapi/v2",
    "/swagger-2.0.0.pb-v1",
    "/logs/kube-apiserver.log",
]
# not excluded by the standard pattern: it drops "/logs" and "/logs?*", not "/logs/<file>"
NOISE_KEPT = {"/openapi/v2", "/logs/kube-apiserver.log"}


@dataclass(frozen=True)
class AuditLine:
    text: str
    kept: bool  # by the standard pattern, by construction
    category: str


def audit_event(
    verb: str,
    uri: str,
    stage: str,
    user: tuple[str, list[str]],
    resource: str | None,
    namespace: str | None,
    rng: random.Random,
) -> dict:
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": str(uuid.UUID(int=rng.getrandbits(128))),
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user[0], "groups": user[1]},
        "sourceIPs": [f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"],
        "userAgent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        "requestReceivedTimestamp": "2026-11-27T05:00:00.000000Z",
        "stageTimestamp": "2026-11-27T05:00:00.012345Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    if resource:
        event["objectRef"] = {
            "resource": resource,
            "apiVersion": "v1",
            **({"namespace": namespace} if namespace else {}),
        }
    if stage == "ResponseComplete":
        event["responseStatus"] = {"metadata": {}, "code": 200}
    return event


def generate(count: int, seed: int = 7) -> list[AuditLine]:
    """A mix like a busy cluster's: API calls at every stage, health and metrics probes."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        roll = rng.random()
        user = rng.choice(USERS)
        if roll < 0.45:
            verb, uri, resource, namespace = rng.choice(API_CALLS)
            event = audit_event(verb, uri, "ResponseComplete", user, resource, namespace, rng)
            lines.append(AuditLine(json.dumps(event, separators=(",", ":")), True, "api"))
        elif roll < 0.65:
            verb, uri, resource, namespace = rng.choice(API_CALLS)
            stage = rng.choice(["RequestReceived", "ResponseStarted"])
            event = audit_event(verb, uri, stage, user, resource, namespace, rng)
            lines.append(AuditLine(json.dumps(event, separators=(",", ":")), False, "early-stage"))
        else:
            uri = rng.choice(NOISE_URIS)
            event = audit_event("get", uri, "ResponseComplete", user, None, None, rng)
            lines.append(AuditLine(json.dumps(event, separators=(",", ":")), uri in NOISE_KEPT, "probe"))
    return lines
