"""Deploy the stack of template.yaml onto the local cloud, from the template's own definitions.

Each resource type has a creator that turns the (evaluated) CloudFormation properties into the
API calls CloudFormation would make; the functions are not created (there is no Lambda runtime
here) but their environment is evaluated, for the in-process controller to run with. Written by
hand because moto's CloudFormation skips Firehose, subscription filters and several policies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import SPOKE_TEMPLATE, TEMPLATE, Context, load_template

_REF_RE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")


# clients(service, region) -> a client of the local cloud
Clients = Callable[[str, str], Any]


@dataclass
class Stack:
    context: Context
    region_clients: Clients
    created: list[str] = field(default_factory=list)
    function_environment: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    spokes: dict[str, Stack] = field(default_factory=dict)  # region -> a StackSet's instance
    retained: list[str] = field(default_factory=list)  # what a deletion left behind (DeletionPolicy)
    # creates a SERVICE_MANAGED StackSet (organization.ServiceManagedStackSets.create)
    service_managed: Callable[[Stack, str, dict[str, Any]], None] | None = None

    def clients(self, service: str) -> Any:
        return self.region_clients(service, self.context.region)

    def name(self, logical_id: str, properties: Mapping[str, Any], key: str) -> str:
        """The name the template gives (RoleName, TopicName, ...), else CloudFormation's kind:
        stack name, logical ID and a suffix, the first two cut short so that the whole fits the
        shortest of the services' limits here (IAM roles: 64 characters)."""
        given = properties.get(key)
        if given:
            return given
        generated = f"{self.context.ref('AWS::StackName')}-{logical_id}"
        if len(generated) <= 64:
            return generated
        suffix = hashlib.sha256(generated.encode()).hexdigest()[:12].upper()
        return f"{self.context.ref('AWS::StackName')[:25]}-{logical_id[:25]}-{suffix}"

    def output(self, name: str) -> str:
        return self.context.resolve(self.context.template["Outputs"][name]["Value"])

    def outputs(self) -> dict[str, str]:
        outputs = self.context.template["Outputs"]
        return {
            name: self.output(name)
            for name, spec in outputs.items()
            if "Condition" not in spec or self.context.condition(spec["Condition"])
        }


def dependencies(resource: Mapping[str, Any], names: set[str]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and value in names:
                    found.add(value)
                elif key == "Fn::GetAtt":
                    found.add(value[0])
                elif key == "Fn::Sub":
                    text = value[0] if isinstance(value, list) else value
                    found.update(n for n in _REF_RE.findall(text) if n in names)
                    walk(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(resource.get("Properties", {}))
    depends = resource.get("DependsOn", [])
    found.update([depends] if isinstance(depends, str) else depends)
    return found & names


def creation_order(resources: Mapping[str, Any]) -> list[str]:
    names = set(resources)
    graph = {name: dependencies(spec, names) for name, spec in resources.items()}
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        for dependency in sorted(graph[name]):
            visit(dependency, (*path, name))
        done.add(name)
        order.append(name)

    for name in sorted(names):
        visit(name, ())
    return order


def deploy(
    clients: Clients,
    parameters: Mapping[str, str],
    *,
    region: str = "us-east-1",
    account: str = "123456789012",
    template_path=TEMPLATE,
    stack_id: str | None = None,
    service_managed: Callable[[Stack, str, dict[str, Any]], None] | None = None,
) -> Stack:
    """Create every resource of the template in `region` (a StackSet's instances in theirs)."""
    template = load_template(template_path)
    context = Context(template, dict(parameters), region=region, account=account)
    if stack_id is not None:
        context.stack_id = stack_id
    stack = Stack(context, clients, service_managed=service_managed)
    resources = template["Resources"]
    for name in creation_order(resources):
        spec = resources[name]
        if "Condition" in spec and not context.condition(spec["Condition"]):
            continue
        properties = context.resolve(spec.get("Properties", {}))
        creator = _CREATORS.get(spec["Type"])
        if creator is None:
            raise ValueError(f"{name}: the local cloud cannot create {spec['Type']}")
        creator(stack, name, properties)
        stack.created.append(name)
    stack.function_environment = function_environment(context)
    return stack


def function_environment(context: Context) -> dict[str, str]:
    """The functions' environment as it resolves now: the template's Globals, or, in a template
    SAM has translated (the organization's member template), the reconciler's own."""
    if "Globals" in context.template:
        variables = context.template["Globals"]["Function"]["Environment"]["Variables"]
    else:
        reconciler = context.template["Resources"].get("ReconcilerFunction", {})
        if reconciler.get("Type") != "AWS::Lambda::Function":
            return {}
        variables = reconciler["Properties"]["Environment"]["Variables"]
    return {key: str(value) for key, value in context.resolve(variables).items()}


def delete(stack: Stack) -> list[str]:
    """Delete a stack's resources in reverse creation order, as CloudFormation does, except those
    whose DeletionPolicy is Retain (AWS-attributes-deletionpolicy.html): they stay, named in
    `stack.retained`, which is returned."""
    resources = stack.context.template["Resources"]
    for name in reversed(stack.created):
        spec = resources[name]
        if spec.get("DeletionPolicy") == "Retain":
            stack.retained.append(name)
            continue
        deleter = _DELETERS.get(spec["Type"])
        if deleter is None:
            raise ValueError(f"{name}: the local cloud cannot delete {spec['Type']}")
        deleter(stack, name)
    stack.created = []
    return stack.retained


def _delete_rule(stack: Stack, name: str) -> None:
    if "EventPattern" not in stack.context.template["Resources"][name]["Properties"]:
        return  # a schedule: not created (_rule)
    events, rule = stack.clients("events"), stack.context.refs[name]
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    if targets:
        events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=rule)


def _delete_role(stack: Stack, name: str) -> None:
    iam, role = stack.clients("iam"), stack.context.refs[name]
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
    iam.delete_role(RoleName=role)


_DELETERS: dict[str, Callable[[Stack, str], None]] = {
    "AWS::Events::Rule": _delete_rule,
    "AWS::IAM::Role": _delete_role,
    "AWS::KinesisFirehose::DeliveryStream": lambda stack, name: stack.clients(
        "firehose"
    ).delete_delivery_stream(DeliveryStreamName=stack.context.refs[name]),
    "AWS::SNS::Topic": lambda stack, name: stack.clients("sns").delete_topic(
        TopicArn=stack.context.refs[name]
    ),
    "AWS::SNS::TopicPolicy": lambda stack, name: None,  # goes with its topic
    "AWS::SNS::Subscription": lambda stack, name: stack.clients("sns").unsubscribe(
        SubscriptionArn=stack.context.refs[name]
    ),
    "AWS::SQS::Queue": lambda stack, name: stack.clients("sqs").delete_queue(
        QueueUrl=stack.context.refs[name]
    ),
    "AWS::SQS::QueuePolicy": lambda stack, name: None,  # goes with its queue
    "AWS::Logs::LogGroup": lambda stack, name: stack.clients("logs").delete_log_group(
        logGroupName=stack.context.refs[name]
    ),
    "AWS::CloudWatch::Alarm": lambda stack, name: stack.clients("cloudwatch").delete_alarms(
        AlarmNames=[stack.context.refs[name]]
    ),
    "AWS::CloudWatch::Dashboard": lambda stack, name: stack.clients("cloudwatch").delete_dashboards(
        DashboardNames=[stack.context.refs[name]]
    ),
    # not created here (no Lambda runtime: the controller runs in-process or in a member's process)
    "AWS::Serverless::Function": lambda stack, name: None,
    "AWS::Serverless::LayerVersion": lambda stack, name: None,
    "AWS::Lambda::Function": lambda stack, name: None,
    "AWS::Lambda::LayerVersion": lambda stack, name: None,
    "AWS::Lambda::EventSourceMapping": lambda stack, name: None,
    "AWS::Lambda::Permission": lambda stack, name: None,
    "Custom::EnabledRegions": lambda stack, name: None,  # its function has nothing to undo on Delete
}


# -- creators: CloudFormation properties -> API calls ---------------------------------------------


def _bucket(stack: Stack, name: str, p: dict[str, Any]) -> None:
    s3 = stack.clients("s3")
    bucket = p["BucketName"]
    region = stack.context.region
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **kwargs)
    encryption = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in encryption
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
    )
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=p["OwnershipControls"])
    rules = []
    for rule in p.get("LifecycleConfiguration", {}).get("Rules", []):
        rules.append(
            {
                "ID": rule["Id"],
                "Status": rule["Status"],
                "Filter": {"Prefix": ""},
                "Expiration": {"Days": int(rule["ExpirationInDays"])},
                "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"],
            }
        )
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    topics = []
    for config in p.get("NotificationConfiguration", {}).get("TopicConfigurations", []):
        key_rules = [{"Name": r["Name"], "Value": r["Value"]} for r in config["Filter"]["S3Key"]["Rules"]]
        topics.append(
            {
                "TopicArn": config["Topic"],
                "Events": [config["Event"]],
                "Filter": {"Key": {"FilterRules": key_rules}},
            }
        )
    if topics:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"TopicConfigurations": topics}
        )
    stack.context.refs[name] = bucket
    stack.context.attributes[(name, "Arn")] = f"arn:aws:s3:::{bucket}"


def _bucket_policy(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """moto ignores a statement's Condition and applies Principal-* statements as they stand, so
    the template's "Deny unless aws:SecureTransport" would deny every request to the (HTTP) local
    cloud. Such statements are left out here and named in `stack.notes`; IAM is not enforced
    locally anyway."""
    document = dict(p["PolicyDocument"])
    kept = [s for s in document["Statement"] if "Condition" not in s]
    for statement in document["Statement"]:
        if "Condition" in statement:
            stack.notes.append(
                f"{name}: statement {statement.get('Sid', '?')} not applied (moto ignores conditions)"
            )
    if kept:
        document["Statement"] = kept
        stack.clients("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))


def _role(stack: Stack, name: str, p: dict[str, Any]) -> None:
    iam = stack.clients("iam")
    role_name = stack.name(name, p, "RoleName")
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
        Description=p.get("Description", ""),
    )["Role"]
    for policy in p.get("Policies", []):
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    stack.context.refs[name] = role_name
    stack.context.attributes[(name, "Arn")] = role["Arn"]


def _delivery_stream(stack: Stack, name: str, p: dict[str, Any]) -> None:
    firehose = stack.clients("firehose")
    stream_name = stack.name(name, p, "DeliveryStreamName")
    destination = dict(p["ExtendedS3DestinationConfiguration"])
    hints = destination.get("BufferingHints", {})
    destination["BufferingHints"] = {k: int(v) for k, v in hints.items()}
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=stream_name,
        DeliveryStreamType=p["DeliveryStreamType"],
        ExtendedS3DestinationConfiguration=destination,
    )["DeliveryStreamARN"]
    stack.context.refs[name] = stream_name
    stack.context.attributes[(name, "Arn")] = arn


def _topic(stack: Stack, name: str, p: dict[str, Any]) -> None:
    arn = stack.clients("sns").create_topic(
        Name=stack.name(name, p, "TopicName"),
        Attributes={"KmsMasterKeyId": p["KmsMasterKeyId"]} if "KmsMasterKeyId" in p else {},
    )["TopicArn"]
    stack.context.refs[name] = arn
    stack.context.attributes[(name, "TopicName")] = arn.rsplit(":", 1)[1]


def _topic_policy(stack: Stack, name: str, p: dict[str, Any]) -> None:
    for topic in p["Topics"]:
        stack.clients("sns").set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(p["PolicyDocument"])
        )


def _subscription(stack: Stack, name: str, p: dict[str, Any]) -> None:
    attributes = {"RawMessageDelivery": "true"} if p.get("RawMessageDelivery") in (True, "true") else {}
    arn = stack.clients("sns").subscribe(
        TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"], Attributes=attributes
    )["SubscriptionArn"]
    stack.context.refs[name] = arn


def _queue(stack: Stack, name: str, p: dict[str, Any]) -> None:
    sqs = stack.clients("sqs")
    attributes = {
        key: json.dumps(value)
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for key, value in p.items()
        if key != "QueueName"
    }
    url = sqs.create_queue(QueueName=stack.name(name, p, "QueueName"), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.context.refs[name] = url
    stack.context.attributes[(name, "Arn")] = arn
    stack.context.attributes[(name, "QueueName")] = arn.rsplit(":", 1)[1]


def _queue_policy(stack: Stack, name: str, p: dict[str, Any]) -> None:
    for url in p["Queues"]:
        stack.clients("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])}
        )


def _alarm(stack: Stack, name: str, p: dict[str, Any]) -> None:
    if "Metrics" in p:
        metric: dict[str, Any] = {
            "Metrics": [{**m, "Period": int(m["Period"])} if "Period" in m else m for m in p["Metrics"]]
        }
    else:
        metric = {
            "Namespace": p["Namespace"],
            "MetricName": p["MetricName"],
            "Dimensions": p["Dimensions"],
            "Statistic": p["Statistic"],
            "Period": int(p["Period"]),
        }
    alarm = stack.context.refs[name] = stack.name(name, p, "AlarmName")
    stack.clients("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        AlarmDescription=p.get("AlarmDescription", ""),
        EvaluationPeriods=int(p["EvaluationPeriods"]),
        Threshold=float(p["Threshold"]),
        ComparisonOperator=p["ComparisonOperator"],
        TreatMissingData=p["TreatMissingData"],
        AlarmActions=p.get("AlarmActions", []),
        **metric,
    )


def _dashboard(stack: Stack, name: str, p: dict[str, Any]) -> None:
    stack.clients("cloudwatch").put_dashboard(
        DashboardName=p["DashboardName"], DashboardBody=p["DashboardBody"]
    )
    stack.context.refs[name] = p["DashboardName"]


def _rule(stack: Stack, name: str, p: dict[str, Any]) -> None:
    events = stack.clients("events")
    rule_name = stack.name(name, p, "Name")
    if "EventPattern" not in p:  # SAM's Schedule event, translated: the controller's timer plays it
        stack.context.refs[name] = rule_name
        stack.context.attributes[(name, "Arn")] = (
            f"arn:aws:events:{stack.context.region}:{stack.context.account}:rule/{rule_name}"
        )
        return
    arn = events.put_rule(
        Name=rule_name, EventPattern=json.dumps(p["EventPattern"]), Description=p.get("Description", "")
    )["RuleArn"]
    targets = [{key: t[key] for key in ("Id", "Arn", "RoleArn") if key in t} for t in p["Targets"]]
    events.put_targets(Rule=rule_name, Targets=targets)
    stack.context.refs[name] = rule_name
    stack.context.attributes[(name, "Arn")] = arn


class StackInstanceFailed(RuntimeError):
    pass


def _role_statements(iam: Any, role_name: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements += document["Statement"]
    return statements


def stack_instance_refusal(stack: Stack, p: dict[str, Any], region: str) -> str | None:
    """Why AWS would fail this StackSet's instance in `region`, or None. Self-managed permissions
    (stacksets-prereqs-self-managed, stacksets-opt-in-regions): the administration role must be
    trusted by CloudFormation, under its regional principal in an opt-in region; the execution role
    must allow what the handlers of the instance template's resources call (handler_permissions)."""
    from . import regions_overlay
    from .handler_permissions import as_list, missing_permissions

    iam = stack.region_clients("iam", stack.context.region)
    admin = p["AdministrationRoleARN"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=admin)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    principal = "cloudformation.amazonaws.com"
    if regions_overlay.opt_in_status(region) == "opted-in":
        principal = f"cloudformation.{region}.amazonaws.com"
    trusted = [
        service
        for statement in trust["Statement"]
        for service in as_list(statement.get("Principal", {}).get("Service"))
    ]
    if principal not in trusted:
        return f"the administration role {admin} does not trust {principal}"
    missing = missing_permissions(
        _role_statements(iam, p["ExecutionRoleName"]), load_template(SPOKE_TEMPLATE)
    )
    if missing:
        action, why = sorted(missing.items())[0]
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return (
            f"the execution role {p['ExecutionRoleName']} is not authorized to perform {action}, "
            f"which the {why[0]} handler calls{others}"
        )
    return None


def _stack_set(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """A StackSet's instances: its template deployed in each region with its parameters, as
    CloudFormation StackSets would (stacksets-concepts.html). The template is spoke.yaml; a
    SERVICE_MANAGED StackSet (org.yaml) is the organization's (organization.py)."""
    if p.get("PermissionModel") == "SERVICE_MANAGED":
        if stack.service_managed is None:
            raise ValueError(
                f"{name}: a service-managed StackSet needs an organization (local serve --organization)"
            )
        stack.service_managed(stack, name, p)
        return
    if "TemplateBody" in p and not p.get("StackInstancesGroup"):
        _probe_stack_set(stack, name, p)
        return
    if p.get("TemplateURL") != SPOKE_TEMPLATE.name:
        raise ValueError(f"{name}: the local cloud deploys only {SPOKE_TEMPLATE.name} as a StackSet")
    parameters = {item["ParameterKey"]: str(item["ParameterValue"]) for item in p.get("Parameters", [])}
    context = stack.context
    for group in p.get("StackInstancesGroup", []):
        for region in group["Regions"]:
            problem = stack_instance_refusal(stack, p, region)
            if problem is not None:  # FailureTolerancePercentage 0: the StackSet, so the deploy, fails
                raise StackInstanceFailed(
                    f"{name}: stack instance {context.account}/{region} FAILED: {problem}"
                )
            uuid = context.stack_id.rsplit("/", 1)[1]
            stack_id = f"arn:aws:cloudformation:{region}:{context.account}:stack/StackSet-{p['StackSetName']}-{uuid[:8]}/{uuid}"
            stack.spokes[region] = deploy(
                stack.region_clients,
                parameters,
                region=region,
                account=context.account,
                template_path=SPOKE_TEMPLATE,
                stack_id=stack_id,
            )
    context.refs[name] = p["StackSetName"]


def _probe_stack_set(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """A StackSet with its template inline and no instances (template.yaml's ProbeStackSet): created
    in the local cloud's CloudFormation (moto's), where StackSetRolesReady makes its instances."""
    stack.clients("cloudformation").create_stack_set(
        StackSetName=p["StackSetName"],
        TemplateBody=p["TemplateBody"],
        PermissionModel=p["PermissionModel"],
        AdministrationRoleARN=p["AdministrationRoleARN"],
        ExecutionRoleName=p["ExecutionRoleName"],
    )
    stack.context.refs[name] = p["StackSetName"]


def _enabled_regions(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """Custom::EnabledRegions: what its function answers, from the same library call
    (eks_audit.regions) against the local cloud's DescribeRegions."""
    from eks_audit.regions import check_key_region, resolve_coverage

    check_key_region(p.get("KmsKeyArn", ""), stack.context.region)
    coverage = resolve_coverage(stack.clients("ec2"), stack.context.region, p["SpokeRegions"])
    for attribute, value in coverage.attributes().items():
        stack.context.attributes[(name, attribute)] = value
    stack.context.refs[name] = "eks-audit-enabled-regions"


def _stack_set_roles_ready(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """Custom::StackSetRolesReady: the probe its function runs (eks_audit.stackset_probe), here
    against the local cloud's CloudFormation StackSets (moto's), then removed as the function does."""
    import time

    from eks_audit.stackset_probe import Probe

    probe = Probe(
        stack.clients("cloudformation"),
        set_name=p["ProbeStackSetName"],
        account=stack.context.account,
        poll_seconds=0.1,
    )
    deadline = time.monotonic() + 60
    probe.prove(p["Regions"].split(","), deadline)
    probe.remove(deadline)
    stack.context.refs[name] = p["ProbeStackSetName"]
    stack.context.attributes[(name, "Attempts")] = str(max(probe.attempts.values()))


def update(stack: Stack, name: str) -> None:
    """Run a resource's creator again with its properties as they resolve now (an update that
    CloudFormation would make in place)."""
    spec = stack.context.template["Resources"][name]
    _CREATORS[spec["Type"]](stack, name, stack.context.resolve(spec.get("Properties", {})))


def _log_group(stack: Stack, name: str, p: dict[str, Any]) -> None:
    group = p.get("LogGroupName") or f"/aws/lambda/{stack.context.ref('AWS::StackName')}-{name}"
    stack.clients("logs").create_log_group(logGroupName=group)
    if "RetentionInDays" in p:
        stack.clients("logs").put_retention_policy(
            logGroupName=group, retentionInDays=int(p["RetentionInDays"])
        )
    context = stack.context
    context.refs[name] = group
    context.attributes[(name, "Arn")] = f"arn:aws:logs:{context.region}:{context.account}:log-group:{group}:*"


def _function(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """Run in-process by the local cloud's controller: nothing to create."""
    function_name = stack.context.refs[name] = f"{stack.context.ref('AWS::StackName')}-{name}"
    context = stack.context
    context.attributes[(name, "Arn")] = (
        f"arn:aws:lambda:{context.region}:{context.account}:function:{function_name}"
    )


def _played_by_the_controller(stack: Stack, name: str, p: dict[str, Any]) -> None:
    """An event source mapping or an invoke permission: the controller's poller and timer play
    them (controller.py); nothing to create."""
    stack.context.refs[name] = f"{stack.context.ref('AWS::StackName')}-{name}"


def _layer(stack: Stack, name: str, p: dict[str, Any]) -> None:
    stack.context.refs[name] = f"arn:aws:lambda:{stack.context.region}:{stack.context.account}:layer:{name}:1"


_CREATORS: dict[str, Callable[[Stack, str, dict[str, Any]], None]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::IAM::Role": _role,
    "AWS::KinesisFirehose::DeliveryStream": _delivery_stream,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::Queue": _queue,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::Events::Rule": _rule,
    "AWS::CloudFormation::StackSet": _stack_set,
    "AWS::Serverless::Function": _function,
    "AWS::Logs::LogGroup": _log_group,
    "Custom::EnabledRegions": _enabled_regions,
    "Custom::StackSetRolesReady": _stack_set_roles_ready,
    "AWS::Serverless::LayerVersion": _layer,
    # the same, as SAM's translator gives them (the organization's member template)
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::LayerVersion": _layer,
    "AWS::Lambda::EventSourceMapping": _played_by_the_controller,
    "AWS::Lambda::Permission": _played_by_the_controller,
}


def register_stack(
    cloudformation: Any,
    name: str,
    outputs: dict[str, str],
    parameters: dict[str, str],
    *,
    update: bool = False,
) -> str:
    """A CloudFormation stack record carrying a deployment's outputs and parameters, so that the CLI
    discovers a local stack exactly as it discovers a real one (DescribeStacks)."""
    record = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    answer = (cloudformation.update_stack if update else cloudformation.create_stack)(
        StackName=name,
        TemplateBody=json.dumps(record),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    return answer["StackId"]
