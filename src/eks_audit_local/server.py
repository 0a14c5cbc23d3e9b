"""The local cloud: moto's server with eks-audit's overlays, the stack of template.yaml deployed on
it, and the controller attached in-process. `eks-audit local serve` runs one until interrupted;
the demo and the end-to-end tests start one in-process.
"""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from . import (
    delivery,
    eks_lifecycle,
    events_overlay,
    features_overlay,
    logs_overlay,
    organization,
    pricing_overlay,
    regions_overlay,
    scp_overlay,
    sns_overlay,
    trails,
)
from .controller import Controller
from .deploy import Stack, delete, deploy, function_environment, register_stack, update
from .gateway import Faults, Gateway
from .member_process import MemberConfig, MemberController
from .organization import (
    ARTIFACTS_TEMPLATE,
    MEMBER_TEMPLATE_URL,
    ORG_TEMPLATE,
    Instance,
    Organization,
    ServiceManagedStackSets,
    create_organization,
)
from .quotas_overlay import Quotas, default_rates
from .template import TEMPLATE

# the stack record below uses a resource moto's CloudFormation only notes as unsupported
warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle")

ACCOUNT = "123456789012"
CONSUMER_ACCOUNT = "210987654321"
EXTERNAL_ID = "eks-audit-local-external-id"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
ORG_STACK_NAME = "eks-audit-org"
# the in-process controller's key: its calls are recorded as the reconciler role's session
CONTROLLER_ACCESS_KEY = "eks-audit-reconciler"


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:
            pass

    return QuietHandler


_QuietHandler = _quiet_handler()


@dataclass
class Timings:
    """Compressed AWS timings (seconds)."""

    creating: float = 5.0
    update: float = 2.0
    firehose_buffer: float = 1.0
    requeue_creating: int = 2
    requeue_updating: int = 1
    # the controller's EXPECTED_CREATING_SECONDS: what this cloud's EKS takes (None: `creating`)
    expected_creating: int | None = None
    visibility: int = 2
    sweep_interval: float = 60.0


@dataclass
class LocalCloud:
    """`region` is the home region; `spoke_regions` get their spokes, as one deploy gives them."""

    port: int = 0
    region: str = "us-east-1"
    spoke_regions: tuple[str, ...] = ()
    faults: Faults = field(default_factory=Faults)
    # API quotas as AWS enforces them (quotas_overlay.py); Quotas(None) lifts them
    quotas: Quotas = field(default_factory=lambda: Quotas(default_rates()))
    timings: Timings = field(default_factory=Timings)
    controller_enabled: bool = True
    on_record: Callable[[dict[str, Any]], None] = lambda record: None
    extra_parameters: dict[str, str] = field(default_factory=dict)
    # N > 0: an AWS Organization of a management account and N member accounts in one OU, with
    # org.yaml deployed from the management account (organization.py) instead of template.yaml
    organization: int = 0
    # member index -> the only regions an SCP attached to that account allows it (the shape of AWS's
    # region-deny example, scp_overlay.py), attached before org.yaml is deployed
    allowed_regions: dict[int, tuple[str, ...]] = field(default_factory=dict)

    endpoint: str = ""
    stack: Stack | None = None
    controller: Controller | None = None
    consumer_queue_url: str = ""
    _server: Any = None
    gateway: Any = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _saved_environ: dict[str, str | None] = field(default_factory=dict)
    org: Organization | None = None
    org_stack: Stack | None = None
    stack_sets: ServiceManagedStackSets | None = None
    members: dict[str, MemberController] = field(default_factory=dict)  # account -> its controller
    _workdir: Any = None  # holds the organization's member template

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        """Serve, deploy the stack (or the organization's), attach the controller(s)."""
        self.start_server()
        try:
            if self.organization:
                self.deploy_organization()
            else:
                self.deploy_stack()
        except BaseException:
            self.stop()  # the threads stop and the process's environment is given back
            raise
        return self

    def start_server(self) -> LocalCloud:
        """Only the cloud, with no stack yet (to set up what exists before a deployment)."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        eks_lifecycle.install(
            creating_seconds=self.timings.creating, update_seconds=self.timings.update, clock=time.monotonic
        )
        delivery.install(buffer_seconds=self.timings.firehose_buffer)
        logs_overlay.install()
        events_overlay.install()
        regions_overlay.install(opted_in=self.regions)
        sns_overlay.install()
        organization.install()
        trails.install()
        app = self.gateway = Gateway(
            DomainDispatcherApplication(create_backend_app), self.faults, self._emit, self.quotas
        )
        if self.port:  # werkzeug exits the process on a busy port: say it as an OSError instead
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
                probe.bind(("127.0.0.1", self.port))
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._spawn(self._server.serve_forever, "moto-server")
        self._reset()
        trails.create_default_trail(ACCOUNT, self.region)
        self._spawn(self._flush_firehose, "firehose-buffer")
        self._spawn(self._run_clock, "eks-clock")
        self._set_environment()
        self.quotas.enforcing = True
        return self

    def deploy_stack(self) -> Stack:
        self.quotas.enforcing = False  # the stack's own creation is CloudFormation's, not emulated here
        try:
            self._deploy()
        finally:
            self.quotas.enforcing = True
        if self.controller_enabled:
            self._attach_controller()
        assert self.stack is not None
        return self.stack

    def stop(self) -> None:
        self._stopping.set()
        try:
            if self.controller is not None:
                self.controller.stop()
            for member in list(self.members.values()):
                member.stop()
            delivery.flush()
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
            for thread in self._threads:
                thread.join(timeout=5)
        finally:  # whatever failed above, the process's environment is given back
            for key, value in self._saved_environ.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_environ.clear()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- clients -------------------------------------------------------------------------------

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.region, *self.spoke_regions)

    def client(self, service: str, region: str | None = None) -> Any:
        return boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
        )

    # -- pieces ----------------------------------------------------------------------------------

    def _reset(self) -> None:
        """moto's state lives in this process: a new local cloud starts from an empty one."""
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10
        )
        delivery.BUFFERING.pending.clear()
        delivery.BROKEN.clear()
        sns_overlay.DROPPED.clear()
        features_overlay.reset()
        pricing_overlay.reset()
        scp_overlay.configure(None)

    def _set_environment(self) -> None:
        """The controller runs in this process and reaches the local cloud like any client."""
        wanted = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        self._apply_environment(wanted)

    def _apply_environment(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _deploy(self) -> None:
        sqs = self.client("sqs")
        self.consumer_queue_url = sqs.create_queue(QueueName="consumer-stand-in")["QueueUrl"]
        consumer_arn = sqs.get_queue_attributes(
            QueueUrl=self.consumer_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        # as the README asks of a consumer's queue: admit the topics of every covered region
        principals = ["sns.amazonaws.com"] + [
            f"sns.{r}.amazonaws.com" for r in self.regions if regions_overlay.opt_in_status(r) == "opted-in"
        ]
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": principals},
            "Action": "sqs:SendMessage",
            "Resource": consumer_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}},
        }
        sqs.set_queue_attributes(
            QueueUrl=self.consumer_queue_url,
            Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})},
        )
        parameters = {
            "ConsumerPrincipal": CONSUMER_ACCOUNT,
            "ExternalId": EXTERNAL_ID,
            "ConsumerQueueArn": consumer_arn,
            "BufferingSeconds": str(int(self.timings.firehose_buffer)),
            "SpokeRegions": ",".join(self.spoke_regions),
            **self.extra_parameters,
        }
        self.stack = deploy(self.client, parameters, region=self.region, account=ACCOUNT)
        self._register_stack()

    def _register_stack(self, update: bool = False) -> None:
        assert self.stack is not None
        register_stack(
            self.client("cloudformation"),
            self.stack.context.ref("AWS::StackName"),
            self.stack.outputs(),
            self.stack.context.parameters,
            update=update,
        )

    def remove_spoke_region(self, region: str) -> list[str]:
        """Take a region out of SpokeRegions, as a `sam deploy` with the shorter list does: the
        StackSet deletes that region's stack instance, whose stack deletes its resources except the
        retained ones (the bucket and its policy: audit data outlives the stack), and the controller
        no longer covers the region. Returns the logical IDs of what was retained."""
        assert self.stack is not None
        spoke = self.stack.spokes.pop(region)
        retained = delete(spoke)
        self.spoke_regions = tuple(r for r in self.spoke_regions if r != region)
        self.stack.context.parameters["SpokeRegions"] = ",".join(self.spoke_regions)
        update(self.stack, "EnabledRegions")  # its SpokeRegions property changed
        self.stack.function_environment = function_environment(self.stack.context)
        self._register_stack(update=True)
        if self.controller is not None:
            from eks_audit import clients

            self._apply_environment({"SPOKE_REGIONS": self.stack.function_environment["SPOKE_REGIONS"]})
            clients.reset()  # settings are read per invocation from the environment
        return retained

    def _controller_environment(self, stack: Stack, access_key: str) -> dict[str, str]:
        """What Lambda gives the functions of `stack`: the template's environment, the role's
        session (`access_key`, recorded as the reconciler role's), the local cloud's timings."""
        role = stack.context.attributes[("ReconcilerFunctionRole", "Arn")]  # SAM's <Name>Role
        self.gateway.roles[access_key] = role
        environment = {
            **stack.function_environment,
            "AWS_ACCESS_KEY_ID": access_key,
            "CONTROLLER_ROLE_ARN": role,
            "WAIT_CREATING_SECONDS": str(self.timings.requeue_creating),
            "WAIT_UPDATING_SECONDS": str(self.timings.requeue_updating),
            "EXPECTED_CREATING_SECONDS": str(
                self.timings.expected_creating or max(1, math.ceil(self.timings.creating))
            ),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "EksAudit",
            "POWERTOOLS_SERVICE_NAME": "eks-audit",
            # one process plays every reconciler here: it may use the whole API rate
            "CONCURRENT_RECONCILERS": "1",
            # EMF metrics would print to stdout; the activity log carries the same facts here
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        if "RelayQueue" in stack.created:
            forwarder = stack.context.template["Resources"]["ForwarderFunction"]["Properties"]
            environment.update(stack.context.resolve(forwarder["Environment"]["Variables"]))
        return environment

    @staticmethod
    def _relay(stack: Stack) -> tuple[str, str] | None:
        if "RelayQueue" not in stack.created:
            return None
        return stack.context.refs["RelayQueue"], stack.context.attributes[("RelayQueue", "Arn")]

    def _attach_controller(self) -> None:
        assert self.stack is not None
        self._apply_environment(self._controller_environment(self.stack, CONTROLLER_ACCESS_KEY))
        from eks_audit import clients, ratelimit

        clients.reset()  # clients and limiters are per process: start from this cloud's environment
        ratelimit.reset()
        self.controller = Controller(
            self.client("sqs"),
            self.stack.output("ReconcileQueueUrl"),
            self.stack.context.attributes[("ReconcileQueue", "Arn")],
            self.region,
            on_record=self.on_record,
            visibility_seconds=self.timings.visibility,
            sweep_interval=self.timings.sweep_interval,
            relay=self._relay(self.stack),
        )
        self.controller.start()

    # -- an organization ---------------------------------------------------------------------------

    def client_in(self, account: str, service: str, region: str | None = None) -> Any:
        """A client acting in `account` (as a StackSets execution role there would)."""
        key = f"deployer-{account}"
        self.gateway.accounts[key] = account
        return boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id=key,
            aws_secret_access_key="local",
            config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
        )

    def member_client(self, account: str, service: str, region: str | None = None) -> Any:
        """A client of a member account as its administrators reach it: through the
        `OrganizationAccountAccessRole` that CreateAccount put there, assumed from the management
        account (organizations/latest/userguide/orgs_manage_accounts_access.html)."""
        credentials = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="eks-audit-local",
        )["Credentials"]
        return boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
        )

    def deploy_organization(self) -> Stack:
        """What the README's organization deploy does: the organization's accounts (here created),
        the artifacts bucket, then org.yaml from the management account, whose StackSets deploy
        to every member account; later moves into or out of the OU deploy or remove (automatic
        deployment)."""
        self.quotas.enforcing = False  # the deploy is CloudFormation's, not emulated here
        try:
            self.org = create_organization(self.client("organizations"), self.organization)
            scp_overlay.configure(self.org.management)
            for index, allowed in self.allowed_regions.items():
                self.deny_regions(self.org.members[index], allowed)
            trails.make_organization_trail(self.org.management, self.region)
            self.gateway.account = self.org.management
            artifacts = deploy(
                self.client,
                {"OrganizationId": self.org.id},
                region=self.region,
                account=ACCOUNT,
                template_path=ARTIFACTS_TEMPLATE,
                stack_id=f"arn:aws:cloudformation:{self.region}:{ACCOUNT}:stack/eks-audit-artifacts/{uuid.uuid4()}",
            )
            register_stack(
                self.client("cloudformation"),
                "eks-audit-artifacts",
                artifacts.outputs(),
                artifacts.context.parameters,
            )
            self.stack_sets = ServiceManagedStackSets(
                self.client,
                lambda account: lambda service, region: self.client_in(account, service, region),
                on_deployed=self._member_deployed,
                on_removed=self._member_removed,
            )
            # what `make org-package` writes: template.yaml, packaged into the artifacts bucket,
            # as plain CloudFormation
            self.stack_sets.templates[MEMBER_TEMPLATE_URL] = self._member_template(
                artifacts.output("ArtifactsBucketName")
            )
            parameters = {
                "OrganizationalUnitIds": self.org.ou,
                "OrganizationId": self.org.id,
                "ConsumerPrincipal": CONSUMER_ACCOUNT,
                "ExternalId": EXTERNAL_ID,
                "SpokeRegions": ",".join(self.spoke_regions),
                "BufferingSeconds": str(int(self.timings.firehose_buffer)),
                **self.extra_parameters,
            }
            self.org_stack = deploy(
                self.client,
                parameters,
                region=self.region,
                account=ACCOUNT,
                template_path=ORG_TEMPLATE,
                stack_id=f"arn:aws:cloudformation:{self.region}:{ACCOUNT}:stack/{ORG_STACK_NAME}/{uuid.uuid4()}",
                service_managed=self.stack_sets.create,
            )
            register_stack(
                self.client("cloudformation"), ORG_STACK_NAME, self.org_stack.outputs(), parameters
            )
        finally:
            self.quotas.enforcing = True
        self.gateway.on_organizations = self._organizations_changed
        return self.org_stack

    def _member_template(self, bucket: str) -> Path:
        from samtranslator.yaml_helper import yaml_parse

        from eks_audit_templates.org import translate, with_code_in

        packaged = with_code_in(yaml_parse(TEMPLATE.read_text()), bucket)
        self._workdir = tempfile.TemporaryDirectory(prefix="eks-audit-org-")
        path = Path(self._workdir.name) / "member.json"
        path.write_text(json.dumps(translate(packaged, self.region)))
        return path

    def _organizations_changed(self, operation: str, params: dict[str, Any]) -> None:
        """Automatic deployment: an account created in (the root may be a target), moved into or out
        of a target OU, or removed."""
        if operation in ("CreateAccount", "MoveAccount", "RemoveAccountFromOrganization", "CloseAccount"):
            stack_sets = self.stack_sets
            if stack_sets is not None:
                self._spawn(stack_sets.sync, "automatic-deployment")

    @staticmethod
    def _is_home_stack(instance: Instance) -> bool:
        """The member StackSet's instance (the controller's), not a spoke."""
        return instance.stack is not None and "ReconcileQueue" in instance.stack.created

    def _member_deployed(self, instance: Instance) -> None:
        """A member account's home stack is up: its functions start, in a process of their own."""
        stack = instance.stack
        if stack is None or not self._is_home_stack(instance) or not self.controller_enabled:
            return
        access_key = f"reconciler-{instance.account}"
        self.gateway.accounts[access_key] = instance.account
        environment = self._controller_environment(stack, access_key)
        environment.update(
            {
                "AWS_REGION": instance.region,
                "AWS_DEFAULT_REGION": instance.region,
                "AWS_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            }
        )
        relay = self._relay(stack)
        config = MemberConfig(
            account=instance.account,
            region=instance.region,
            queue_url=stack.output("ReconcileQueueUrl"),
            queue_arn=stack.context.attributes[("ReconcileQueue", "Arn")],
            relay_url=relay[0] if relay else None,
            relay_arn=relay[1] if relay else None,
            visibility_seconds=self.timings.visibility,
            sweep_interval=self.timings.sweep_interval,
        )
        self.members[instance.account] = MemberController(config, environment, self.on_record)

    def _member_removed(self, instance: Instance) -> None:
        member = self.members.pop(instance.account, None) if self._is_home_stack(instance) else None
        if member is not None:
            member.stop()

    def _emit(self, region: str, source: str, detail: dict[str, Any]) -> None:
        """CloudTrail -> EventBridge: the default bus of the call's region, when a logging trail
        there records the call (trails.py)."""
        from moto.events.models import events_backends

        account = detail.get("recipientAccountId", ACCOUNT)
        if not trails.records(account, region, detail["eventSource"], read_only=bool(detail.get("readOnly"))):
            return
        events_backends[account][region].put_events(
            [{"Source": source, "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}]
        )

    def _run_clock(self) -> None:
        """EKS's asynchronous work completes on time without observers (eks_lifecycle.tick_all)."""
        while not self._stopping.wait(0.2):
            with suppress(Exception):
                eks_lifecycle.tick_all()

    def _flush_firehose(self) -> None:
        while not self._stopping.wait(0.2):
            with suppress(Exception):
                delivery.flush(only_due=True)

    # -- helpers for scenarios and tests --------------------------------------------------------

    def deny_regions(self, account: str, allowed: tuple[str, ...]) -> str:
        """Attach to `account` an SCP that denies every region but `allowed` (AWS's example shape);
        returns the policy's ID."""
        organizations = self.client("organizations")
        policy = organizations.create_policy(
            Name=f"region-deny-{account}",
            Description="Deny access to AWS based on the requested AWS Region",
            Type="SERVICE_CONTROL_POLICY",
            Content=scp_overlay.region_deny_policy(allowed),
        )["Policy"]["PolicySummary"]["Id"]
        organizations.attach_policy(PolicyId=policy, TargetId=account)
        return policy

    def break_delivery(self, stream_arn: str, broken: bool = True) -> None:
        """Make a stream's deliveries fail (as a refusing role or bucket would), or work again."""
        delivery.break_stream(stream_arn, broken)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(Exception):
                if predicate():
                    return True
            time.sleep(interval)
        return False
