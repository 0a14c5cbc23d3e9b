"""A customer managed key (KmsKeyArn), end to end on the policies: every path that uses the key is
allowed by the roles the deploy creates together with the key policy statements the README gives,
each of those statements is needed, and a wrong KmsKeyArn is refused before the pipeline exists.

Who calls KMS on each path (AWS's pages): S3 with the Firehose role's credentials when Firehose
writes an SSE-KMS object and with the consumer role's when it reads one (kms:ViaService s3;
firehose/latest/dev/controlling-access.html); s3.amazonaws.com when S3 notifies an encrypted topic
(AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html, "AWS KMS key policy"); the
publisher to an encrypted topic (sns/latest/dg/sns-key-management.html: "The publisher must have the
kms:GenerateDataKey and kms:Decrypt permissions"). A key policy statement naming the account root
lets the account's IAM policies grant use of the key (AWS's default key policy)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from eks_audit_local.template import SPOKE_TEMPLATE, load_template
from tests import iam_proof
from tests.template.deployed_roles import ACCOUNT, KEY, REGION, deployed_roles, role, translated

HOME = load_template()
README = Path(__file__).parents[2] / "README.md"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
VIA_SNS = {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
# (path, principal: a role of the deploy or a service principal, action, request context)
PATHS = [
    ("Firehose writes objects", "FirehoseRole", "kms:GenerateDataKey", VIA_S3),
    ("Firehose writes objects (multipart)", "FirehoseRole", "kms:Decrypt", VIA_S3),
    ("S3 notifies the topic", "s3.amazonaws.com", "kms:GenerateDataKey", {}),
    ("S3 notifies the topic", "s3.amazonaws.com", "kms:Decrypt", {}),
    ("the forwarder publishes", "ForwarderFunctionRole", "kms:GenerateDataKey", VIA_SNS),
    ("the forwarder publishes", "ForwarderFunctionRole", "kms:Decrypt", VIA_SNS),
    ("the consumer reads", "ConsumerRole", "kms:Decrypt", VIA_S3),
]


def readme_key_policy() -> list[dict]:
    text = README.read_text()
    block = re.search(r"<!-- kms-key-policy[^>]*-->\s*```json\n(.*?)```", text, re.S)
    assert block, "README: the key policy block is missing"
    return json.loads(block.group(1).replace("111122223333", ACCOUNT))


def key_policy_admits(statements: list[dict], principal: str, request: iam_proof.Request) -> bool:
    """A key policy statement applies to a service principal it names, or, naming the account
    root, to every IAM principal of the account (whose own policy must then allow it too)."""

    def names(statement: dict) -> bool:
        named = statement["Principal"]
        if principal.endswith(".amazonaws.com"):
            return principal in iam_proof._listed(named.get("Service"))
        return f"arn:aws:iam::{ACCOUNT}:root" in iam_proof._listed(named.get("AWS"))

    applicable = [s for s in statements if names(s)]
    return iam_proof.allowed(applicable, iam_proof.Request(request.action, "*", request.context, request.why))


def path_allowed(key_policy: list[dict], principal: str, action: str, context: dict) -> bool:
    request = iam_proof.Request(action, KEY, {"aws:RequestedRegion": REGION, **context}, principal)
    if not key_policy_admits(key_policy, principal, request):
        return False
    if principal.endswith(".amazonaws.com"):
        return True
    return iam_proof.allowed(role("own-spokes-kms", principal).statements, request)


@pytest.mark.parametrize(("path", "principal", "action", "context"), PATHS)
def test_every_path_that_uses_the_key_is_allowed(path, principal, action, context):
    assert path_allowed(readme_key_policy(), principal, action, context)


@pytest.mark.parametrize("sid", [s["Sid"] for s in readme_key_policy()])
def test_every_statement_the_readme_asks_for_is_needed(sid):
    kept = [s for s in readme_key_policy() if s["Sid"] != sid]
    assert any(not path_allowed(kept, *path[1:]) for path in PATHS), f"{sid} allows nothing a path needs"


def test_without_a_key_no_role_may_use_any_key():
    for deployed in deployed_roles():
        if deployed.deploy in ("one-region", "organization-member"):
            assert "kms:" not in json.dumps(deployed.statements), (deployed.deploy, deployed.name)


def test_the_key_is_used_only_through_the_services_that_need_it():
    """The Firehose and consumer roles may use the key only through S3, the forwarder only through
    SNS, none by calling KMS themselves."""
    for name in ("FirehoseRole", "ConsumerRole", "ForwarderFunctionRole"):
        direct = iam_proof.Request("kms:Decrypt", KEY, {"aws:RequestedRegion": REGION}, name)
        assert not iam_proof.allowed(role("own-spokes-kms", name).statements, direct), name


def test_the_home_bucket_stream_and_topic_use_the_key_and_the_spokes_none():
    resources = HOME["Resources"]
    assert "KmsKeyArn" in json.dumps(resources["AuditBucket"]["Properties"]["BucketEncryption"])
    assert "KmsKeyArn" in json.dumps(resources["DeliveryStream"]["Properties"])
    assert resources["AuditTopic"]["Properties"]["KmsMasterKeyId"]["Fn::If"][1] == {"Ref": "KmsKeyArn"}
    # a key is regional: the spokes encrypt with S3's and Firehose's own keys (README)
    spoke = load_template(SPOKE_TEMPLATE)
    assert "Kms" not in json.dumps(spoke["Parameters"])
    assert spoke["Resources"]["DeliveryStream"]["Properties"][
        "DeliveryStreamEncryptionConfigurationInput"
    ] == {"KeyType": "AWS_OWNED_CMK"}


def test_a_wrong_key_is_checked_before_the_pipeline_exists():
    """EnabledRegions checks KmsKeyArn's region; the topic waits for it, the retained bucket for
    the topic's policy, the stream for the bucket: nothing of the pipeline is made first."""
    resources = HOME["Resources"]
    assert "Condition" not in resources["EnabledRegions"]
    assert resources["EnabledRegions"]["Properties"]["KmsKeyArn"] == {"Ref": "KmsKeyArn"}
    assert resources["AuditTopic"]["DependsOn"] == "EnabledRegions"
    assert resources["AuditBucket"]["DependsOn"] == "AuditTopicPolicy"


def test_nothing_but_the_check_itself_is_made_before_the_check():
    """Every resource CloudFormation will create (SAM translated: the Globals' references count)
    waits for EnabledRegions, by a reference or DependsOn, directly or through another, except what
    the check needs to run: its function, role, log group and layer. No CloudFormation Rule can
    split an ARN to compare its region, so the check is a custom resource."""
    resources = translated()["Resources"]
    before = {
        n for n in resources if n != "EnabledRegions" and "EnabledRegions" not in upstream(resources, n)
    }
    assert {re.sub(r"[0-9a-f]{10}$", "", n) for n in before} == {
        "RegionsFunction",
        "RegionsFunctionRole",
        "RegionsFunctionLogGroup",
        "RuntimeLayer",  # SAM names the layer's version with a hash of its content
    }


def upstream(resources: dict, name: str) -> set[str]:
    """The resources `name` waits for: those it references (Ref, GetAtt, Sub) or DependsOn, and theirs."""
    found: set[str] = set()
    todo = [name]
    while todo:
        resource = resources[todo.pop()]
        depends = resource.get("DependsOn", [])
        direct = referenced(resource.get("Properties", {}), resources) | set(
            [depends] if isinstance(depends, str) else depends
        )
        todo += [d for d in direct - found]
        found |= direct
    return found


def referenced(node, resources: dict) -> set[str]:
    if isinstance(node, list):
        return set().union(*(referenced(item, resources) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set()
    for key, value in node.items():
        if key == "Ref" and value in resources:
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0] if isinstance(value, list) else value.split(".")[0])
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            found |= {m for m in re.findall(r"\$\{([A-Za-z0-9]+)", text) if m in resources}
        found |= referenced(value, resources)
    return found


def key_pattern() -> re.Pattern[str]:
    return re.compile(HOME["Parameters"]["KmsKeyArn"]["AllowedPattern"])


def test_the_key_parameter_takes_a_key_arn_of_every_partition():
    session = botocore.session.get_session()
    samples = []
    for partition in session.get_available_partitions():
        regions = session.get_available_regions("kms", partition_name=partition)
        prefix = f"arn:{partition}:kms:{regions[0]}:{ACCOUNT}:key/" if regions else None
        if prefix:
            # the two key ID forms KMS documents: a key's UUID, a multi-Region key's mrk- ID
            samples += [
                f"{prefix}1234abcd-12ab-34cd-56ef-1234567890ab",
                f"{prefix}mrk-1234abcd12ab34cd56ef1234567890ab",
            ]
    assert len(samples) >= 6
    assert [s for s in samples if not key_pattern().fullmatch(s)] == []
    assert key_pattern().fullmatch("")  # no key: SSE-S3


@pytest.mark.parametrize(
    "value",
    [
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/eks-audit",  # an alias: S3 would accept it, Firehose not
        "1234abcd-12ab-34cd-56ef-1234567890ab",  # a bare key ID
        f"arn:aws:s3:::eks-audit-{ACCOUNT}",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/",
    ],
)
def test_the_key_parameter_refuses_what_is_not_a_key_arn(value):
    assert not key_pattern().fullmatch(value)
    assert "KmsKeyArn" not in HOME["Parameters"]["KmsKeyArn"]["ConstraintDescription"]  # AWS names it
