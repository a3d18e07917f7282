"""boto3 clients for the stage's region, and the errors that mean "fix your credentials" turned into one message.

boto3 is imported here, on first use, not when the CLI starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from genai_kit.cli.errors import CliError

ClientFactory = Callable[[str], Any]

NO_CREDENTIALS_FIX = (
    "configure credentials for the stage's account: `aws configure sso` / `aws sso login --profile <name>` "
    "and pass --profile <name> (or set AWS_PROFILE), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
# botocore's names for credentials that are missing, expired or refused.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)


def client_factory(region: str, profile: str | None = None) -> ClientFactory:
    """A function that returns a boto3 client of the named service in ``region``."""
    try:
        boto3 = importlib.import_module("boto3")
    except ModuleNotFoundError:
        raise CliError(
            "boto3 is not installed in this environment; run `make test` once (it installs the dev requirements) "
            "or `pip install -r requirements-dev.txt`"
        ) from None
    botocore_exceptions = importlib.import_module("botocore.exceptions")
    try:
        session = boto3.Session(region_name=region, profile_name=profile)
    except botocore_exceptions.ProfileNotFound as error:
        raise CliError(f"{error}; the profiles are in ~/.aws/config") from None
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service)
        return clients[service]

    return client


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, or None for any other exception."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_credentials_error(error: BaseException) -> bool:
    """Missing, expired or refused credentials (anything the user fixes by logging in again)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"NoCredentialsError", "PartialCredentialsError", "TokenRetrievalError", "SSOTokenLoadError"}:
        return True
    return error_code(error) in CREDENTIAL_ERROR_CODES


def credentials_cli_error(error: BaseException) -> CliError:
    """The one message the CLI prints for any credentials problem."""
    return CliError(f"AWS credentials are missing or not valid ({error}); {NO_CREDENTIALS_FIX}")
