"""Is an approved version's model data there, and can its serving role read it? Checked before anything is created.

A version's weights are named by its inference specification (DescribeModelPackage ``InferenceSpecification.
Containers[]``): ``ModelDataSource.S3DataSource`` (``S3Uri`` with ``S3DataType`` ``S3Prefix`` or ``S3Object``)
or ``ModelDataUrl`` (one ``.tar.gz`` object). The serving role reads model data only under one prefix of the
artifacts bucket and decrypts only the kit's KMS key, so data elsewhere, missing, or under another key would
fail the endpoint's start-up half an hour later instead of now.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.aws import client

# HeadObject reports a missing key as a bare 404 (it has no body to name NoSuchKey).
_MISSING = {"404", "NoSuchKey", "NotFound"}


def model_data_problems(package: dict[str, Any], *, readable_prefix: str, kms_key_arn: str) -> list[str]:
    """What is wrong with each container's model data of a DescribeModelPackage response; empty when all is fine.

    ``readable_prefix`` is the ``s3://bucket/prefix/`` the serving role may read. Each problem names the location,
    e.g. ``"s3://bucket/training/output/job/output/model/: no object under this prefix"``. An S3 error other than
    a missing object or a refused read (throttling, a network error) is raised, not reported.
    """
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    if not containers:
        return ["the version has no inference specification containers, so no model data to serve"]
    problems = []
    for container in containers:
        location = _location(container)
        if location is None:
            problems.append(
                f"container {container.get('Image', '?')} names no model data (ModelDataSource or ModelDataUrl)"
            )
            continue
        uri, data_type = location
        problem = _problem(uri, data_type, readable_prefix=readable_prefix, kms_key_arn=kms_key_arn)
        if problem is not None:
            problems.append(f"{uri}: {problem}")
    return problems


def _location(container: dict[str, Any]) -> tuple[str, str] | None:
    """(URI, S3DataType) of a container's model data."""
    source = (container.get("ModelDataSource") or {}).get("S3DataSource")
    if source:
        return str(source["S3Uri"]), str(source.get("S3DataType", "S3Prefix"))
    if container.get("ModelDataUrl"):
        return str(container["ModelDataUrl"]), "S3Object"
    return None


def _problem(uri: str, data_type: str, *, readable_prefix: str, kms_key_arn: str) -> str | None:
    if not uri.startswith(readable_prefix):
        return f"outside {readable_prefix}, the only model data the serving role may read"
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = client("s3")
    try:
        if data_type == "S3Prefix":
            listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            if not listing.get("KeyCount"):
                return "no object under this prefix"
            key = listing["Contents"][0]["Key"]
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = str(error.response["Error"].get("Code"))
        if code in _MISSING:
            return "no such object"
        if code in ("403", "AccessDenied"):
            return f"the deploy function may not read it ({code})"
        raise
    key_id = head.get("SSEKMSKeyId")
    if head.get("ServerSideEncryption") in ("aws:kms", "aws:kms:dsse") and _key_id(key_id) != _key_id(kms_key_arn):
        return (
            f"s3://{bucket}/{key} is encrypted with KMS key {key_id}; the serving role may decrypt only {kms_key_arn}"
        )
    return None


def _key_id(key: str | None) -> str:
    """The key id of a key ARN or id (HeadObject reports SSEKMSKeyId as the key's ARN)."""
    return (key or "").rsplit("/", 1)[-1]
