"""Records benchmarks/org_shapes.json: what `status --org` reads from a member account, as the local
cloud's organization answers it (one member, a home region and a spoke, three clusters each), with
the account, region and names made placeholders for benchmarks/simulated_org.py to fill in.

Run again when status --org reads something new: `python benchmarks/record_org_shapes.py`.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

import botocore.client
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from simulated_org import HOME, SHAPES  # noqa: E402

from tests.e2e.conftest import recorded_cloud  # noqa: E402

SPOKE = "eu-west-1"
CLUSTERS = ("c0", "c1", "c2")
# request values that tell two answers of one API apart (the first that the request holds wins)
MATCHES = (
    "NextToken",
    "EksApiCallsRule",
    "LogsApiCallsRule",
    "-eks-calls",
    "-logs-calls",
    "StackSet-",
    "eks-audit-org",
)


def record() -> tuple[list[tuple[str, str, dict, dict]], str]:
    calls: list[tuple[str, str, dict, dict]] = []
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        answer = original(self, operation, params)
        with lock:
            calls.append(
                (f"{self.meta.service_model.service_name}.{operation}", self.meta.region_name, params, answer)
            )
        return answer

    from eks_audit_cli.main import cli

    with recorded_cloud(organization=1, spoke_regions=(SPOKE,)) as cloud:
        (member,) = cloud.org.members
        for region in (HOME, SPOKE):
            eks = cloud.member_client(member, "eks", region)
            for name in CLUSTERS:
                eks.create_cluster(
                    name=name, roleArn=f"arn:aws:iam::{member}:role/eks", resourcesVpcConfig={}
                )
        time.sleep(15)  # the member's controller onboards them
        botocore.client.BaseClient._make_api_call = recording
        try:
            result = CliRunner().invoke(cli, ["status", "--org", "--json", "--endpoint-url", cloud.endpoint])
        finally:
            botocore.client.BaseClient._make_api_call = original
        if result.exit_code != 0:
            raise RuntimeError(f"status --org on the local cloud exited {result.exit_code}: {result.output}")
        return [(key, region, params, answer) for key, region, params, answer in calls], member


def placeholders(text: str, member: str, region: str) -> str:
    text = text.replace(member, "{account}")
    for uuid in set(re.findall(r"StackSet-eks-audit-org-members-([0-9a-f-]{36})", text)):
        text = text.replace(uuid, "{account}")
    text = re.sub(r"(stack/StackSet-eks-audit-org-members-\{account\})/[0-9a-f-]{36}", r"\1/{account}", text)
    text = text.replace(f'"{HOME},{SPOKE}"', '"{covered}"').replace(
        f'"ParameterValue": "{SPOKE}"', '"ParameterValue": "{spokes}"'
    )
    if region != HOME:
        text = text.replace(region, "{region}")
    for name in CLUSTERS:
        text = re.sub(rf'(?<=["/]){name}(?=["/])', "{cluster}", text)
    return text


def main() -> int:
    calls, member = record()
    shapes: dict[str, list[dict]] = {}
    for key, region, params, answer in calls:
        answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
        request = json.dumps(params, default=str)
        match = next((m for m in MATCHES if m in request), "")
        entry = {
            "kind": "home" if region == HOME else "spoke",
            "match": match,
            "text": placeholders(json.dumps(answer, default=str), member, region),
        }
        found = shapes.setdefault(key, [])
        if not any((e["kind"], e["match"]) == (entry["kind"], entry["match"]) for e in found):
            found.append(entry)
    for entries in shapes.values():
        entries.sort(key=lambda e: -len(e["match"]))
    SHAPES.write_text(json.dumps(shapes, indent=1, sort_keys=True) + "\n")
    print(f"{SHAPES.name}: {sum(len(v) for v in shapes.values())} answers of {len(shapes)} APIs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
