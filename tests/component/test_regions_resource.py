"""The custom resource behind SpokeRegions=ALL: the enabled regions, answered to CloudFormation's
presigned URL (here a loopback server), SUCCESS or FAILED but never silence."""

import json

import pytest
from botocore.exceptions import ClientError

from eks_audit.regions import enabled_regions
from tests.conftest import REGION, Context, load_handler
from tests.helpers import QuietHandler, loopback


class _CloudFormation(QuietHandler):
    answers: list[dict] = []  # noqa: RUF012 - one test at a time

    def do_PUT(self) -> None:
        type(self).answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def response_url():
    _CloudFormation.answers = []
    with loopback(_CloudFormation) as url:
        yield f"{url}/presigned"


def request(kind: str, url: str) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/eks-audit/uuid",
        "RequestId": "r-1",
        "LogicalResourceId": "EnabledRegions",
        "ResourceProperties": {"Revision": "1"},
    }


def test_create_answers_every_enabled_region_but_home(aws, response_url):
    load_handler("regions").handler(request("Create", response_url), Context())
    (answer,) = _CloudFormation.answers
    assert answer["Status"] == "SUCCESS" and answer["LogicalResourceId"] == "EnabledRegions"
    spokes = answer["Data"]["Spokes"].split(",")
    import boto3

    assert set(spokes) == set(enabled_regions(boto3.client("ec2", region_name=REGION))) - {REGION}
    assert "eu-west-1" in spokes


def test_delete_succeeds_without_work(aws, response_url):
    load_handler("regions").handler(request("Delete", response_url), Context())
    assert [(a["Status"], a["Data"]) for a in _CloudFormation.answers] == [("SUCCESS", {})]


def test_a_failure_is_answered_as_failed_with_the_reason(aws, response_url, monkeypatch):
    module = load_handler("regions")

    def refused(*args, **kwargs):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeRegions")

    monkeypatch.setattr(module, "spoke_regions", refused)
    module.handler(request("Update", response_url), Context())
    (answer,) = _CloudFormation.answers
    assert answer["Status"] == "FAILED" and "UnauthorizedOperation" in answer["Reason"]


def test_opted_out_regions_are_not_enabled():
    class Ec2:
        def describe_regions(self, AllRegions):
            return {
                "Regions": [
                    {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
                    {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"},
                    {"RegionName": "ap-east-1", "OptInStatus": "opted-in"},
                ]
            }

    assert enabled_regions(Ec2()) == ["ap-east-1", "us-east-1"]
