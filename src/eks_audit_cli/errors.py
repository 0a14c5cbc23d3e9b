"""What the CLI says when AWS cannot be reached or refuses it: one line and exit status 2, never a
traceback (a traceback is for bugs)."""

from __future__ import annotations

import os
import sys

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from eks_audit.ratelimit import RateLimitsError
from eks_audit.regions import known_regions

from .stack import AmbiguousStacks

# ClientError codes that say "this call is not allowed" (a permission, not the credentials)
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"})
# how AWS ends an AccessDenied that a service control policy caused (IAM's "access denied error
# messages": "... with an explicit deny in a service control policy")
SCP_DENIAL = "explicit deny in a service control policy"
SCP_NO_ALLOW = "because no service control policy allows"  # an allow-list SCP's implicit deny

CANNOT_RUN = 2
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
CLOSED_PIPE = 141  # 128 + SIGPIPE, as `yes | head` reports it
# ClientError codes that say "these credentials are no good" (STS, IAM and most services)
CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidSignatureException",
    }
)


def scp_refusal(text: str) -> bool:
    return SCP_DENIAL in text or SCP_NO_ALLOW in text


def denied_by_scp(exc: BaseException) -> bool:
    """An AWS refusal that a service control policy caused (an organization's guardrail, such as a
    region deny), as opposed to the caller's own policies."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") in DENIED and scp_refusal(str(error.get("Message", "")))


def is_fatal(exc: BaseException) -> bool:
    """An error no other region or cluster would escape: no credentials, no network, no region."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in CREDENTIAL_CODES
    return isinstance(exc, BotoCoreError)


def explain(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (
            f"no usable AWS credentials ({exc}): set a profile (--profile, AWS_PROFILE), "
            "environment variables, or sign in with `aws sso login`"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: give --region, or set AWS_REGION or a region in your profile"
    if isinstance(exc, ProfileNotFound):
        return f"{exc} (see ~/.aws/config)"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return f"cannot reach AWS: {exc} (no network, a proxy, or a wrong --endpoint-url?)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "") or "a call"
        hint = " (the credentials were refused)" if error.get("Code") in CREDENTIAL_CODES else ""
        return f"AWS refused {operation}: {error.get('Code', '?')}: {error.get('Message', '')}{hint}"
    return str(exc)


def unknown_region_line(regions: tuple[str, ...], exc: BotoCoreError | ClientError) -> str | None:
    """When AWS could not be reached for, or refused, a region botocore's partition data does not
    know (the options let a well-formed one through: it may be newer than botocore), say so."""
    unknown = [r for r in regions if r != "all" and r not in known_regions()]
    if not unknown:
        return None
    message = exc.response.get("Error", {}).get("Message", "") if isinstance(exc, ClientError) else ""
    if not isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)) and "valid region" not in message:
        return None
    return (
        f"{', '.join(unknown)}: not a region botocore's partition data knows, and AWS did not answer for it; "
        "if AWS has opened a new region, update botocore (pip install -U boto3 botocore) and try again"
    )


class AwsCliGroup(click.Group):
    """A click group whose commands end with one clear line when AWS is out of reach."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (BotoCoreError, ClientError) as exc:
            from .options import Globals

            globals_ = ctx.find_object(Globals)
            unknown = unknown_region_line(globals_.regions if globals_ is not None else (), exc)
            click.echo(f"eks-audit: {unknown or explain(exc)}", err=True)
            ctx.exit(CANNOT_RUN)
        except AmbiguousStacks as exc:  # which stack is meant is the operator's to say
            click.echo(f"eks-audit: {exc}", err=True)
            ctx.exit(CANNOT_RUN)
        except RateLimitsError as exc:  # the environment's RATE_LIMITS: bad input, said once
            click.echo(f"eks-audit: {exc}", err=True)
            ctx.exit(CANNOT_RUN)
        except BrokenPipeError:
            # the reader went away (`eks-audit ... | head`): stop quietly, as Unix tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(CLOSED_PIPE)
        except KeyboardInterrupt:
            ctx.exit(INTERRUPTED)
