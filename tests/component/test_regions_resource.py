"""The custom resource behind SpokeRegions: the spoke regions and the principals of the opt-in ones,
answered to CloudFormation's presigned URL (here a loopback server): SUCCESS or FAILED, never
silence, before the function's own timeout, and within the 4,096-byte limit of the answer."""

import json
import threading
import time
from dataclasses import dataclass

import boto3
import pytest

from eks_audit import cfn_response
from eks_audit.regions import RegionsError, enabled_regions, resolve_coverage
from tests.conftest import REGION, Context, load_handler
from tests.helpers import CloudFormationResponses, QuietHandler, loopback


class _NeverAnswers(QuietHandler):
    """An endpoint that takes the request and never replies (a hung API)."""

    release = threading.Event()

    def do_POST(self) -> None:
        type(self).release.wait(60)


def request(kind: str, url: str, spoke_regions: str = "ALL") -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/eks-audit/uuid",
        "RequestId": "r-1",
        "LogicalResourceId": "EnabledRegions",
        "ResourceProperties": {"Revision": "1", "SpokeRegions": spoke_regions},
    }


@dataclass
class ShortLivedContext(Context):
    """A Lambda context whose remaining time runs out with the clock."""

    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


class Ec2:
    def describe_regions(self, AllRegions):
        regions = [
            {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
            {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
            {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"},
            {"RegionName": "ap-east-1", "OptInStatus": "opted-in"},
        ]
        return {"Regions": [r for r in regions if AllRegions or r["OptInStatus"] != "not-opted-in"]}


def test_create_answers_every_enabled_region_but_home(aws, response_url):
    load_handler("regions").handler(request("Create", response_url), Context())
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "SUCCESS" and answer["LogicalResourceId"] == "EnabledRegions"
    spokes = answer["Data"]["Spokes"].split(",")
    assert set(spokes) == set(enabled_regions(boto3.client("ec2", region_name=REGION))) - {REGION}
    assert "eu-west-1" in spokes


def test_delete_succeeds_without_work(aws, response_url):
    load_handler("regions").handler(request("Delete", response_url), Context())
    assert [(a["Status"], a["Data"]) for a in CloudFormationResponses.answers] == [("SUCCESS", {})]


def test_opt_in_regions_get_their_regional_principals(response_url, monkeypatch):
    module = load_handler("regions")
    monkeypatch.setattr(module.clients, "bounded_client", lambda *a, **k: Ec2())
    module.handler(request("Create", response_url, "eu-west-1,ap-east-1"), Context())
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {
        "Spokes": "eu-west-1,ap-east-1",
        "CloudFormationPrincipals": "cloudformation.amazonaws.com,cloudformation.ap-east-1.amazonaws.com",
        "SnsPrincipals": "sns.amazonaws.com,sns.ap-east-1.amazonaws.com",
        "LogsPrincipals": "logs.eu-west-1.amazonaws.com,logs.ap-east-1.amazonaws.com",
    }


def test_all_covers_the_opted_in_regions_and_never_the_disabled_ones():
    coverage = resolve_coverage(Ec2(), "us-east-1", "ALL")
    assert coverage.spokes == ("ap-east-1", "eu-west-1") and coverage.opted_in == ("ap-east-1",)


def test_a_listed_region_that_is_not_enabled_is_refused_by_name():
    with pytest.raises(RegionsError, match=r"af-south-1, not enabled for this account"):
        resolve_coverage(Ec2(), "us-east-1", "eu-west-1,af-south-1")
    with pytest.raises(RegionsError, match=r"eu-wset-1: no such region"):
        resolve_coverage(Ec2(), "us-east-1", "eu-wset-1")


def test_the_home_region_is_no_spoke_of_its_own():
    assert resolve_coverage(Ec2(), "eu-west-1", "eu-west-1,us-east-1").spokes == ("us-east-1",)


def test_a_hung_api_is_answered_as_failed_before_the_functions_timeout(response_url, monkeypatch):
    _NeverAnswers.release.clear()
    with loopback(_NeverAnswers) as hung:
        monkeypatch.setenv("AWS_ENDPOINT_URL", hung)
        context = ShortLivedContext(deadline=time.monotonic() + cfn_response.ANSWER_RESERVE_SECONDS + 1.5)
        load_handler("regions").handler(request("Create", response_url), context)
        answered_with_time_left = context.get_remaining_time_in_millis() > 0
        _NeverAnswers.release.set()
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "FAILED" and "no answer from AWS" in answer["Reason"]
    assert answered_with_time_left  # Lambda would not have ended the function before it answered


class _RefusesAtLength(QuietHandler):
    """An EC2 endpoint that refuses DescribeRegions with a long, mostly non-ASCII message."""

    message = "accès refusé à la région ✗ " * 300  # ~8,000 characters

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = (
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
            f"<Message>{self.message}</Message></Error></Errors><RequestID>r</RequestID></Response>"
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_long_non_ascii_refusal_still_fits_the_answer(response_url, monkeypatch):
    with loopback(_RefusesAtLength) as refusing:
        monkeypatch.setenv("AWS_ENDPOINT_URL", refusing)
        load_handler("regions").handler(request("Update", response_url), Context())
    (answer,) = CloudFormationResponses.answers
    assert CloudFormationResponses.sizes[0] <= cfn_response.MAX_BODY_BYTES
    assert answer["Status"] == "FAILED" and "UnauthorizedOperation" in answer["Reason"]
    assert "accès refusé à la région ✗" in answer["Reason"] and answer["Reason"].endswith("[cut]")


def test_a_short_answer_is_sent_whole():
    event = request("Create", "http://unused")
    payload = cfn_response.body(event, "FAILED", "é" * 100, {}, "id")
    assert json.loads(payload)["Reason"] == "é" * 100


class NoCalls:
    def __getattr__(self, name):
        raise AssertionError(f"{name}: no region is read when SpokeRegions is empty")


def test_an_empty_spoke_regions_reads_no_region():
    coverage = resolve_coverage(NoCalls(), "us-east-1", "")
    assert coverage.spokes == () and coverage.attributes()["Spokes"] == ""


@pytest.mark.parametrize("spoke_regions", ["", "eu-west-1"])
def test_a_key_of_another_region_fails_the_deploy_naming_the_parameter(
    response_url, monkeypatch, spoke_regions
):
    module = load_handler("regions")
    monkeypatch.setattr(module.clients, "bounded_client", lambda *a, **k: Ec2())
    event = request("Create", response_url, spoke_regions)
    event["ResourceProperties"]["KmsKeyArn"] = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd"
    module.handler(event, Context())
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "FAILED"
    assert f"KmsKeyArn names a key of eu-west-1, and this stack is in {REGION}" in answer["Reason"]


def test_a_key_of_this_region_passes(response_url, monkeypatch):
    module = load_handler("regions")
    monkeypatch.setattr(module.clients, "bounded_client", lambda *a, **k: Ec2())
    event = request("Create", response_url, "")
    event["ResourceProperties"]["KmsKeyArn"] = f"arn:aws:kms:{REGION}:123456789012:key/mrk-1234abcd12ab34cd"
    module.handler(event, Context())
    (answer,) = CloudFormationResponses.answers
    assert answer["Status"] == "SUCCESS" and answer["Data"]["Spokes"] == ""
