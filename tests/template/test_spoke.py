"""spoke.yaml, the home template and the library agree: same rules, names the controller derives,
and every spoke reachable by the consumer's one integration."""

import json

from eks_audit.settings import Settings
from eks_audit_local.template import SPOKE_TEMPLATE, Context, load_template

HOME = load_template()
SPOKE = load_template(SPOKE_TEMPLATE)
PREFIX = "eks-audit-1a2b3c4d"


def spoke_context(region: str = "eu-west-1") -> Context:
    return Context(
        SPOKE,
        {
            "NamePrefix": PREFIX,
            "HomeRegion": "us-east-1",
            "ForwardEventsRoleArn": "arn:aws:iam::123456789012:role/forward",
            "RelayQueueArn": "arn:aws:sqs:us-east-1:123456789012:relay",
            "ConsumerPrincipal": "210987654321",
        },
        region=region,
    )


def test_spoke_rules_watch_exactly_what_the_home_rules_watch():
    # the home rules name the reconciler's role by GetAtt, the spokes by the name the home gives it
    home = Context(HOME, parameters={"NamePrefix": PREFIX})
    role = home.resolve(HOME["Resources"]["ReconcilerFunctionRole"]["Properties"]["RoleName"])
    home.attributes[("ReconcilerFunctionRole", "Arn")] = f"arn:aws:iam::123456789012:role/{role}"
    for name in ("EksApiCallsRule", "LogsApiCallsRule"):
        spoke_pattern = spoke_context().resolve(SPOKE["Resources"][name]["Properties"]["EventPattern"])
        assert spoke_pattern == home.resolve(HOME["Resources"][name]["Properties"]["EventPattern"])
        assert f"role/{PREFIX}-reconciler" in json.dumps(spoke_pattern)


def test_spoke_rules_forward_to_the_home_bus_with_the_role():
    context = spoke_context()
    for name in ("EksApiCallsRule", "LogsApiCallsRule"):
        (target,) = context.resolve(SPOKE["Resources"][name]["Properties"]["Targets"])
        assert target["Arn"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"
        assert target["RoleArn"] == "arn:aws:iam::123456789012:role/forward"


def test_the_spokes_names_are_those_the_controller_derives():
    context = spoke_context("ap-southeast-2")
    resources = SPOKE["Resources"]
    stream = context.resolve(resources["DeliveryStream"]["Properties"]["DeliveryStreamName"])
    # the one logs role of every spoke region is the home stack's, named by the same prefix
    home = Context(HOME, {"NamePrefix": PREFIX})
    role = home.resolve(HOME["Resources"]["SpokeLogsRole"]["Properties"]["RoleName"])
    assert (
        context.resolve(SPOKE["Outputs"]["LogsRoleArn"]["Value"]) == f"arn:aws:iam::123456789012:role/{role}"
    )
    settings = Settings(
        firehose_arn="arn:aws:firehose:us-east-1:123456789012:deliverystream/home",
        logs_role_arn="arn:aws:iam::123456789012:role/home",
        spoke_regions=("ap-southeast-2",),
        spoke_name_prefix=PREFIX,
    ).for_region("ap-southeast-2")
    assert settings.firehose_arn == f"arn:aws:firehose:ap-southeast-2:123456789012:deliverystream/{stream}"
    assert settings.logs_role_arn == f"arn:aws:iam::123456789012:role/{role}"
    assert len(role) <= 64  # IAM's limit, with the longest region name


def test_a_spoke_stream_writes_with_the_home_stacks_firehose_role():
    """Given by ARN (the home stack's StackSet) or derived by name (the organization deploy)."""
    home = Context(HOME, {"NamePrefix": PREFIX})
    name = home.resolve(HOME["Resources"]["SpokeFirehoseRole"]["Properties"]["RoleName"])
    destination = SPOKE["Resources"]["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    derived = spoke_context()
    assert derived.resolve(destination["RoleARN"]) == f"arn:aws:iam::123456789012:role/{name}"
    given = spoke_context()
    given.parameters["FirehoseRoleArn"] = "arn:aws:iam::123456789012:role/given"
    assert given.resolve(destination["RoleARN"]) == "arn:aws:iam::123456789012:role/given"
    passed = HOME["Resources"]["SpokeStackSet"]["Properties"]["Parameters"]
    assert {
        "ParameterKey": "FirehoseRoleArn",
        "ParameterValue": {"Fn::GetAtt": ["SpokeFirehoseRole", "Arn"]},
    } in passed


def test_spoke_objects_say_their_region_and_stay_under_the_consumers_prefix():
    context = spoke_context("eu-central-2")
    destination = SPOKE["Resources"]["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert context.resolve(destination["Prefix"]) == "eks_audit_logs/123456789012/eu-central-2/"
    home = HOME["Resources"]["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert home["Prefix"] == {"Fn::Sub": "eks_audit_logs/${AWS::AccountId}/${AWS::Region}/"}


def test_every_spoke_topic_relays_raw_to_the_home_relay_queue():
    resources = SPOKE["Resources"]
    relay = resources["RelaySubscription"]["Properties"]
    assert relay["RawMessageDelivery"] is True
    given = spoke_context("eu-central-2")
    assert given.resolve(relay["Endpoint"]) == given.parameters["RelayQueueArn"]
    # the organization deploy gives no ARN (one parameter set for every account): derived by name
    derived = spoke_context("eu-central-2")
    derived.parameters["RelayQueueArn"] = ""
    prefix = derived.parameters["NamePrefix"]
    assert derived.resolve(relay["Endpoint"]) == f"arn:aws:sqs:us-east-1:123456789012:{prefix}-relay"
    assert [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"] == [
        resources["RelaySubscription"]
    ]
    topic_name = spoke_context().resolve(resources["AuditTopic"]["Properties"]["TopicName"])
    policy = HOME["Resources"]["RelayQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    admitted = policy["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"][0]
    assert admitted.endswith(":${NamePrefix}-audit") and topic_name == f"{PREFIX}-audit"


def test_the_notification_queue_hears_only_the_home_topic():
    """Every region reaches it through the home topic: a second path would deliver twice."""
    (allow, _deny) = HOME["Resources"]["NotificationQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "AuditTopic"}}}
    subscriptions = [
        r["Properties"] for r in HOME["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert {s["TopicArn"]["Ref"] for s in subscriptions} == {"AuditTopic"}


def test_the_stackset_passes_every_parameter_the_spoke_requires():
    stackset = HOME["Resources"]["SpokeStackSet"]["Properties"]
    passed = {item["ParameterKey"] for item in stackset["Parameters"]}
    required = {name for name, spec in SPOKE["Parameters"].items() if "Default" not in spec}
    assert required <= passed <= set(SPOKE["Parameters"])
    assert stackset["TemplateURL"] == "spoke.yaml"


def test_all_regions_resolve_from_the_custom_resource_everywhere_the_list_is_used():
    context = Context(HOME, {"ConsumerPrincipal": "210987654321", "ExternalId": "x" * 8}, region="us-east-1")
    assert context.parameters["SpokeRegions"] == "ALL"  # the default: every enabled region
    context.attributes[("EnabledRegions", "Spokes")] = "eu-west-1,ap-south-1"
    assert context.resolve(HOME["Outputs"]["CoveredRegions"]["Value"]) == "us-east-1,eu-west-1,ap-south-1"
    stackset = context.resolve(HOME["Resources"]["SpokeStackSet"]["Properties"]["StackInstancesGroup"])
    assert stackset[0]["Regions"] == ["eu-west-1", "ap-south-1"]
    environment = HOME["Globals"]["Function"]["Environment"]["Variables"]
    assert context.resolve(environment["SPOKE_REGIONS"]) == "eu-west-1,ap-south-1"
    regions_function = HOME["Resources"]["RegionsFunction"]["Properties"]["Environment"]["Variables"]
    assert regions_function["SPOKE_REGIONS"] == ""  # its own answer is not its input: no cycle


def test_no_spokes_cover_this_region_alone():
    """The custom resource still runs (it checks KmsKeyArn's region) but reads no region, and its
    role may not: eks_audit.regions answers an empty SpokeRegions without a call."""
    context = Context(HOME, {"SpokeRegions": ""}, region="us-east-1")
    assert not context.condition("HasSpokes")
    assert "Condition" not in HOME["Resources"]["EnabledRegions"]
    assert context.resolve(HOME["Outputs"]["CoveredRegions"]["Value"]) == "us-east-1"
    context.attributes[("RegionsFunctionLogGroup", "Arn")] = "arn:aws:logs:us-east-1:123456789012:log-group:x"
    (policy,) = context.resolve(HOME["Resources"]["RegionsFunctionRole"]["Properties"]["Policies"])
    assert "ec2:DescribeRegions" not in str(policy)


def test_a_list_goes_through_the_custom_resource_too():
    """A listed region is checked to be enabled, and an opt-in one needs its regional principals."""
    context = Context(HOME, {"SpokeRegions": "eu-west-1,ap-east-1"}, region="us-east-1")
    properties = context.resolve(HOME["Resources"]["EnabledRegions"]["Properties"] | {"ServiceToken": "x"})
    assert properties["SpokeRegions"] == "eu-west-1,ap-east-1"
    context.attributes[("EnabledRegions", "Spokes")] = "eu-west-1,ap-east-1"
    assert context.resolve(HOME["Outputs"]["CoveredRegions"]["Value"]) == "us-east-1,eu-west-1,ap-east-1"
