"""Session-wide test harness: fake AWS credentials, no network, a temporary folder of the session's own,
and the kit synthesized once per stage."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.synth import SynthResult

# Everything the session writes to the temporary directory (synthesized assemblies, staged Lambda code, jsii's
# runtime, pytest's tmp_path folders, what subprocesses write) goes to one folder of its own, removed when the
# process ends (after jsii's own exit handlers, registered later): nothing accumulates in the system's temporary
# directory, and each pytest-xdist worker (whose folder is inside the controller's) stages Lambda code apart.
SESSION_TMP = Path(tempfile.mkdtemp(prefix="genai-kit-tests-"))
atexit.register(shutil.rmtree, SESSION_TMP, ignore_errors=True)
os.environ["TMPDIR"] = tempfile.tempdir = str(SESSION_TMP)

# Set before anything imports boto3, so no test can ever sign a request with real credentials.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
    os.environ.pop(_name, None)
os.environ.update(_FAKE_AWS_ENV)

from tests.botocore_models import share_parsed_models  # noqa: E402  (after the credentials are faked)

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Refuse every connection that leaves the machine; moto servers on loopback still work."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _botocore_models_parsed_once() -> Iterator[None]:
    """Each botocore session (moto starts one per test) reuses the service models earlier ones parsed."""
    with share_parsed_models():
        yield


@pytest.fixture(scope="session")
def synth() -> Callable[..., SynthResult]:
    """Synthesize a stage once per session (per stage and context overrides) and return its assembly."""
    # Imported here, not at the top: the pytest-xdist controller, which runs no test, never loads the CDK.
    from stacks.constructs import lambda_code  # noqa: PLC0415
    from tests.synth import synthesize  # noqa: PLC0415

    # A cheap guard: the staged Lambda code and the assemblies must be in the folder the session removes.
    assert lambda_code.STAGING_ROOT.is_relative_to(SESSION_TMP), "stacks were imported before the session's TMPDIR"
    cache: dict[str, SynthResult] = {}

    def _synth(stage: str = "dev", **overrides: Any) -> SynthResult:
        key = repr((stage, sorted(overrides.items())))
        if key not in cache:
            cache[key] = synthesize(stage=stage, overrides=overrides)
        return cache[key]

    return _synth


@pytest.fixture(scope="session")
def dev(synth: Callable[..., SynthResult]) -> SynthResult:
    """The default stage as cdk.json configures it."""
    return synth("dev")
