"""template.yaml as plain CloudFormation, for the organization's member StackSet (org.yaml).

Service-managed StackSets with their default execution role accept no transform, SAM's included
(AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html), so the home stack reaches
the member accounts as AWS's own SAM translator (aws-sam-translator, the library `sam deploy` relies
on through CloudFormation's transform) renders it: the same resources CloudFormation would create
from template.yaml, with no Transform left.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any


class _NoManagedPolicies:
    """The loader SAM asks for AWS managed policy ARNs by name: template.yaml attaches none."""

    def load(self) -> dict[str, str]:
        return {}


@contextmanager
def _region(region: str):
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator asks botocore for a region
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def translate(sam_template: dict[str, Any], region: str) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` of this (packaged) SAM template would create."""
    from samtranslator.translator.transform import transform

    with _region(region):
        return transform(sam_template, {}, _NoManagedPolicies())


def unpackaged(sam_template: dict[str, Any]) -> list[str]:
    """The functions and layers whose code is still a local path: `sam package` has not run."""
    local = []
    for name, resource in sam_template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        uri = properties.get("CodeUri", properties.get("ContentUri"))
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion") and (
            isinstance(uri, str) and not uri.startswith("s3://")
        ):
            local.append(name)
    return local


def with_code_in(sam_template: dict[str, Any], bucket: str) -> dict[str, Any]:
    """The template as `sam package` leaves it, each function's and layer's code an object of
    `bucket` (the local cloud's stand-in for the upload; the tests' too)."""
    for name, resource in sam_template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://{bucket}/{name}.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://{bucket}/{name}.zip"
    return sam_template


# What tells template.yaml (packaged) from any other template: the resources the home stack is
SIGNATURE = ("ReconcilerFunction", "SweeperFunction", "ReconcileQueue", "DeliveryStream")


def member_template(packaged_text: str, region: str) -> dict[str, Any]:
    """The member accounts' home stack, from the output of `sam package` of template.yaml; anything
    else (an empty file, not a template, another template such as spoke.yaml) is a ValueError that
    says what it is."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.yaml_helper import yaml_parse

    if not packaged_text.strip():
        raise ValueError("the file is empty: give the output of `sam package` of template.yaml")
    try:
        template = yaml_parse(packaged_text)
    except Exception as exc:  # the YAML or JSON parser's own error, whatever its class
        raise ValueError(
            f"not a template (it does not parse as YAML or JSON: {str(exc).splitlines()[0]})"
        ) from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError("not a CloudFormation template (no Resources)")
    missing = [name for name in SIGNATURE if name not in template["Resources"]]
    if missing or "AWS::Serverless-2016-10-31" not in str(template.get("Transform")):
        raise ValueError(
            "not template.yaml's packaged form (it has no "
            f"{', '.join(missing) or 'SAM transform'}): give the output of `sam package` of template.yaml, "
            "not spoke.yaml or another template"
        )
    local = unpackaged(template)
    if local:
        raise ValueError(
            f"{', '.join(sorted(local))}: code still on this machine; give the output of "
            "`sam package --s3-bucket <artifacts bucket>` (README, An AWS Organization)"
        )
    try:
        return translate(template, region)
    except InvalidDocumentException as exc:
        raise ValueError(f"SAM's translator refuses it: {exc}") from None
