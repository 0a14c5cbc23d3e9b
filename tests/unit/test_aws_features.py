"""AWS's own EKS audit log features as eks-audit reads them: a telemetry rule for EKS audit logs (the
account's or the organization's), a Security Lake EKS_AUDIT source, and one line when an API is
denied or unavailable; `status` reports them for each covered region."""

from types import SimpleNamespace

from botocore.exceptions import ClientError

from eks_audit_cli import aws_features, status


class Answering:
    def __init__(self, **answers):
        self.answers = answers

    def __getattr__(self, operation):
        answer = self.answers[operation]

        def call(**_):
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


def client(**answers):
    return lambda service, region: Answering(**answers)


def refused(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, operation)


RULE = {
    "RuleName": "audit",
    "ResourceType": "AWS::EKS::Cluster",
    "TelemetrySourceTypes": ["EKS_API_LOGS", "EKS_AUDIT_LOGS"],
}
OTHER = {"RuleName": "flows", "ResourceType": "AWS::EC2::VPC", "TelemetrySourceTypes": ["VPC_FLOW_LOGS"]}


def test_a_rule_that_enables_eks_audit_logs_is_named_and_others_are_not():
    found = aws_features.telemetry_rules(
        client(list_telemetry_rules={"TelemetryRuleSummaries": [RULE, OTHER]}), "eu-west-1"
    )
    assert found.found is True and found.text.startswith(
        "CloudWatch telemetry rule audit enables EKS audit logs in eu-west-1"
    )
    found = aws_features.telemetry_rules(
        client(list_telemetry_rules={"TelemetryRuleSummaries": [OTHER]}), "eu-west-1"
    )
    assert found.found is False


def test_a_denied_or_missing_api_is_one_line():
    denied = client(list_telemetry_rules=refused("AccessDeniedException", "ListTelemetryRules"))
    found = aws_features.telemetry_rules(denied, "eu-west-1")
    assert (found.found, found.text) == (
        None,
        "telemetry rules not read in eu-west-1: observabilityadmin:ListTelemetryRules denied",
    )
    organization = client(list_telemetry_rules_for_organization=refused("AccessDeniedException", "X"))
    found = aws_features.organization_telemetry_rules(organization, "eu-west-1")
    assert found.found is None and "only the management account or a delegated administrator" in found.text
    no_lake = client(list_log_sources=refused("ResourceNotFoundException", "ListLogSources"))
    found = aws_features.security_lake(no_lake, "eu-west-1", "123456789012")
    assert (found.found, found.text) == (False, "Security Lake is not enabled in eu-west-1")


def test_security_lakes_eks_audit_source_is_named_as_collected_twice():
    sources = {
        "sources": [
            {
                "account": "1",
                "region": "eu-west-1",
                "sources": [{"awsLogSource": {"sourceName": "EKS_AUDIT"}}],
            }
        ]
    }
    found = aws_features.security_lake(client(list_log_sources=sources), "eu-west-1", "1")
    assert found.found is True and "collected, and paid for, twice" in found.text
    cloudtrail_only = {"sources": [{"sources": [{"awsLogSource": {"sourceName": "CLOUD_TRAIL_MGMT"}}]}]}
    assert (
        aws_features.security_lake(client(list_log_sources=cloudtrail_only), "eu-west-1", "1").found is False
    )


def test_every_page_of_rules_is_read():
    pages = iter([{"TelemetryRuleSummaries": [OTHER], "NextToken": "2"}, {"TelemetryRuleSummaries": [RULE]}])

    class Paged:
        def list_telemetry_rules(self, **_):
            return next(pages)

    assert aws_features.telemetry_rules(lambda s, r: Paged(), "eu-west-1").found is True


def test_an_organization_rule_is_named_with_its_region():
    found = aws_features.organization_telemetry_rules(
        client(list_telemetry_rules_for_organization={"TelemetryRuleSummaries": [OTHER, RULE]}), "eu-west-1"
    )
    assert found.found is True and found.text.startswith(
        "the organization's telemetry rule audit enables EKS audit logs in eu-west-1"
    )


class Deployed:
    """The deployments status sees: one home stack in us-east-1 covering eu-west-1."""

    def home_of(self, region):
        return SimpleNamespace(
            region="us-east-1", account="123456789012", outputs={"FirehoseArn": "arn:aws:firehose:x"}
        )


def features_status_reports(region: str, **answers) -> list[aws_features.Finding]:
    result = status.RegionStatus(region)
    status.add_aws_features(SimpleNamespace(client=client(**answers)), result, Deployed())
    return result.features


NOTHING = {
    "list_telemetry_rules": {"TelemetryRuleSummaries": []},
    "list_log_sources": {"sources": []},
}


def test_status_reports_an_organization_rule_for_each_covered_region():
    for region in ("us-east-1", "eu-west-1"):
        features = features_status_reports(
            region, list_telemetry_rules_for_organization={"TelemetryRuleSummaries": [RULE]}, **NOTHING
        )
        (organization,) = [f for f in features if f.feature == "organization telemetry rule"]
        assert organization.found is True
        assert (
            f"the organization's telemetry rule audit enables EKS audit logs in {region}" in organization.text
        )


def test_a_member_account_that_may_not_list_them_is_told_once_with_the_home_region():
    denied = refused("AccessDeniedException", "ListTelemetryRulesForOrganization")
    home = features_status_reports("us-east-1", list_telemetry_rules_for_organization=denied, **NOTHING)
    spoke = features_status_reports("eu-west-1", list_telemetry_rules_for_organization=denied, **NOTHING)
    assert [f.found for f in home if f.feature == "organization telemetry rule"] == [None]
    assert [f.feature for f in spoke] == ["telemetry rule", "Security Lake source"]
