"""Images answered by URL (``response_format: "url"``): each image stored in the stage's artifacts bucket, and a
presigned S3 GET URL to it.

Each image is one object, ``<IMAGES_PREFIX><random hex>.png`` (``image/png``; a JPEG-answering model's ``.jpg``,
``image/jpeg``), encrypted by the bucket's default
encryption (SSE-KMS with the stage's key; nothing is asked of it per request). A lifecycle rule on the prefix
(``api.image_retention_days``) deletes the objects; nothing else does. The URL is a SigV4 query-string GET of that
object valid for ``IMAGE_URL_SECONDS`` (``X-Amz-Expires``, 1 to 604800 s: Amazon S3 API reference,
"Authenticating Requests: Using Query Parameters (AWS Signature Version 4)").

Signed with temporary credentials, a URL lives no longer than they do: "If you created a presigned URL using a
temporary token, then the URL expires when the token expires, even if the URL was created with a later expiration
time" (Amazon S3 user guide, "Sharing objects with presigned URLs",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html; "IAM role credentials ... the
presigned URL expires when the role session expires", "Download and upload objects with presigned URLs",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html). The router signs with its Lambda
execution role's session credentials, so a URL may stop working before its ``X-Amz-Expires``, when the session
of the execution environment that signed it ends.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.api_router.backends.clients import client
from lambdas.api_router.errors import ApiError, model_failed
from lambdas.api_router.observability import logger
from lambdas.api_router.settings import settings

# The media types the image models answer in, and the file extension each is stored under.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}


def store(images: tuple[str, ...], media_type: str = "image/png") -> tuple[str, ...]:
    """Store every image (base64 images of ``media_type``, a key of ``EXTENSIONS``, as the model answered them)
    and return a presigned GET URL to each, in order; blocking (botocore), so the route runs it in a worker thread.

    All or nothing for the answer: if any image cannot be decoded or stored, raises ``ApiError`` (502) and no URL
    is returned (objects already stored are left to the lifecycle rule). Requires the stage's image storage
    (``settings().image_urls``).
    """
    config = settings()
    if config.images_bucket is None or config.images_prefix is None or config.image_url_seconds is None:
        raise ApiError(500, "Image storage is not configured", type="api_error", code="internal_error")
    s3 = client("s3")
    urls = []
    for image in images:
        try:
            data = base64.b64decode(image, validate=True)
        except (binascii.Error, ValueError):
            raise model_failed("The image model answered with an image that is not base64") from None
        key = f"{config.images_prefix}{secrets.token_hex(16)}.{EXTENSIONS[media_type]}"
        try:
            s3.put_object(Bucket=config.images_bucket, Key=key, Body=data, ContentType=media_type)
        except (ClientError, BotoCoreError) as error:
            code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
            logger.warning("image not stored", extra={"error": code or type(error).__name__})
            raise storage_failed() from None
        urls.append(
            s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": config.images_bucket, "Key": key},
                ExpiresIn=config.image_url_seconds,
            )
        )
    return tuple(urls)


def storage_failed() -> ApiError:
    """The images were generated but could not be stored to link to: 502, code ``image_storage_error``."""
    return ApiError(
        502,
        "The generated images could not be stored for their URLs; retry, or ask for response_format b64_json",
        type="api_error",
        code="image_storage_error",
    )
