"""template.yaml and the library agree: defaults, environment variables, events/ samples."""

import json

from eks_audit import constants
from eks_audit.settings import _VARIABLES, load_settings
from eks_audit_local.template import load_template
from tests.helpers import EVENTS

TEMPLATE = load_template()


def test_default_filter_pattern_and_name_are_the_librarys():
    parameters = TEMPLATE["Parameters"]
    assert parameters["FilterPattern"]["Default"] == constants.STANDARD_FILTER_PATTERN
    assert parameters["FilterName"]["Default"] == constants.DEFAULT_FILTER_NAME


def test_functions_get_every_setting_the_library_reads():
    reconciler = TEMPLATE["Resources"]["ReconcilerFunction"]["Properties"]["Environment"]["Variables"]
    variables = {**TEMPLATE["Globals"]["Function"]["Environment"]["Variables"], **reconciler}
    wanted = set(_VARIABLES) - {
        "SUBSCRIPTION_FILTER_LIMIT",
        "WAIT_CREATING_SECONDS",
        "WAIT_UPDATING_SECONDS",
        "EXPECTED_CREATING_SECONDS",
    }
    assert wanted <= set(variables)


def test_template_parameter_defaults_load_as_settings():
    parameters = TEMPLATE["Parameters"]
    environ = {
        "FIREHOSE_ARN": "arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
        "LOGS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "FILTER_PATTERN": parameters["FilterPattern"]["Default"],
        "FILTER_NAME": parameters["FilterName"]["Default"],
        "INCLUDE_CLUSTERS": parameters["IncludeClusters"]["Default"],
        "EXCLUDE_CLUSTERS": parameters["ExcludeClusters"]["Default"],
        "LOG_RETENTION_DAYS": parameters["LogRetentionDays"]["Default"],
    }
    settings = load_settings(environ)
    assert settings.name_in_scope("any-cluster")
    assert settings.log_retention_days is None
    allowed = {int(v) for v in parameters["LogRetentionDays"]["AllowedValues"] if v}
    assert allowed == constants.VALID_RETENTION_DAYS


def test_every_sample_event_is_valid_json_with_a_purpose():
    names = sorted(p.stem for p in EVENTS.glob("*.json"))
    for name in names:
        json.loads((EVENTS / f"{name}.json").read_text())
    assert {"scheduled", "backfill", "backfill-dry-run", "sqs-batch"} <= set(names)


def test_queue_visibility_covers_the_reconciler_timeout():
    resources = TEMPLATE["Resources"]
    visibility = resources["ReconcileQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * resources["ReconcilerFunction"]["Properties"]["Timeout"]
    events = resources["ReconcilerFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert events["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def botocore_regions() -> set[str]:
    """Every region botocore's partition data knows, in every partition."""
    import botocore.session

    session = botocore.session.get_session()
    return {
        region
        for partition in session.get_available_partitions()
        for service in ("ec2", "eks", "kms", "logs")
        for region in session.get_available_regions(service, partition_name=partition)
    }


def test_every_region_parameter_takes_every_region_aws_publishes():
    """Found by the KMS test: eusc-de-east-1 (a four-letter area) was refused by `[a-z]{2}-...`."""
    import re

    from eks_audit.settings import REGION_RE
    from eks_audit_local.template import SPOKE_TEMPLATE, TEMPLATE, load_template

    regions = botocore_regions()
    assert "eusc-de-east-1" in regions and len(regions) > 30
    patterns = {
        "template.yaml SpokeRegions": load_template(TEMPLATE)["Parameters"]["SpokeRegions"]["AllowedPattern"],
        "spoke.yaml HomeRegion": load_template(SPOKE_TEMPLATE)["Parameters"]["HomeRegion"]["AllowedPattern"],
        "org.yaml SpokeRegions": load_template(TEMPLATE.parent / "org.yaml")["Parameters"]["SpokeRegions"][
            "AllowedPattern"
        ],
        "settings REGION_RE": f"^{REGION_RE.pattern}$",
    }
    refused = {name: sorted(r for r in regions if not re.fullmatch(p, r)) for name, p in patterns.items()}
    assert {name: found for name, found in refused.items() if found} == {}
