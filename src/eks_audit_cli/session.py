"""AWS access for the CLI: the usual boto3 credential chain and profiles, an optional endpoint
(the local cloud), and the regions to look at."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import click
from botocore.config import Config

from eks_audit import ratelimit
from eks_audit.aws import ClusterApi
from eks_audit.clients import answer_final_errors_at_once, retry_config
from eks_audit.regions import enabled_regions

from .stack import Deployments, find_deployments

# One lock for every client this process creates: the accounts of `status --org` share a session
_CREATING = threading.Lock()


@dataclass
class Aws:
    profile: str | None
    endpoint_url: str | None
    regions_wanted: tuple[str, ...]
    verbose: bool = False
    session: Any = field(default=None, repr=False)  # given: shared with the Aws it was assumed from

    def __post_init__(self) -> None:
        if self.session is None:
            self.session = boto3.session.Session(profile_name=self.profile)
        self._credentials: dict[str, str] = {}  # another principal's (assumed), else the session's chain
        self._clients: dict[tuple[str, str], Any] = {}
        self._limiters = ratelimit.Limiters()
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        found = self._clients.get(key)
        if found is not None:
            return found
        with _CREATING:  # clients are thread safe, a session is not (boto3's guide, multithreading)
            if key not in self._clients:
                self._clients[key] = answer_final_errors_at_once(
                    self.session.client(
                        service,
                        region_name=region,
                        endpoint_url=self.endpoint_url,
                        config=retry_config(),
                        **self._credentials,
                    )
                )
            return self._clients[key]

    def assumed(self, role_arn: str, session_name: str) -> Aws:
        """The same access, as `role_arn` (another account's, say): its own clients and limiters,
        so its calls are paced to that account's quotas. It shares this session, whose loaded
        service models botocore keeps: a session of its own per account would parse them again
        (most of the CPU `status --org` spent per account; benchmarks/org_scale.py)."""
        sts = self.client("sts", self.session.region_name or "us-east-1")
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        other = Aws(self.profile, self.endpoint_url, self.regions_wanted, self.verbose, session=self.session)
        other._credentials = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        return other

    def cluster_api(self, region: str, read_only: bool = False) -> ClusterApi:
        """Paced to the account's quotas, read from Service Quotas once per region: a read-only
        command takes the whole quota, one that writes leaves headroom (eks_audit/ratelimit.py)."""
        return ClusterApi(
            self.client("eks", region), self.client("logs", region), limiter=self.limiter(region, read_only)
        )

    def limiter(self, region: str, read_only: bool) -> ratelimit.RateLimiter:
        """One per region (and kind of command) for this command's life."""
        return self._limiters.get(
            region, read_only=read_only, quota_client=self.quota_client, on_created=self.report_rates
        )

    def quota_client(self, region: str) -> Any:
        """Service Quotas, with short timeouts and one retry: an unreachable endpoint costs seconds,
        and then the documented defaults are used."""
        config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=5)
        with _CREATING:
            return self.session.client(
                "service-quotas",
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=config,
                **self._credentials,
            )

    def report_rates(self, region: str, limiter: ratelimit.RateLimiter) -> None:
        """--verbose: the rates and their sources, per region. Always: that the quotas could not be
        read, once per reason."""
        if self.verbose:
            for line in limiter.describe():
                click.echo(f"eks-audit: {region}: rate {line}", err=True)
        for reason in sorted(limiter.fallbacks()):
            with self._lock:
                if reason in self._said:
                    continue
                self._said.add(reason)
            click.echo(f"eks-audit: quotas not read ({reason}): pacing to the documented defaults", err=True)

    def regions(self) -> list[str]:
        """--regions as given; otherwise every region enabled for the account."""
        if self.regions_wanted and self.regions_wanted != ("all",):
            return list(self.regions_wanted)
        return enabled_regions(self.client("ec2", self.session.region_name or "us-east-1"))

    def deployments(
        self, stack_name: str | None, regions: list[str], home_region: str | None = None
    ) -> Deployments:
        """The eks-audit stacks covering `regions`. A spoke region's stack lives in its home: looked
        for first in the regions asked about, the home region named and the profile's region, then,
        if a region is still not covered, in every enabled region (one DescribeStacks each)."""

        def look(where: list[str]) -> Deployments:
            return find_deployments(lambda region: self.client("cloudformation", region), stack_name, where)

        searched = [*regions, *(r for r in (home_region, self.session.region_name) if r)]
        found = look(searched)
        if all(found.home_of(region) is not None for region in regions):
            return found
        others = [
            r
            for r in enabled_regions(self.client("ec2", regions[0] if regions else "us-east-1"))
            if r not in searched
        ]
        return Deployments(stack_name, {**found.homes, **look(others).homes})
