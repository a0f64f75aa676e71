"""The S3 backend, in its own module so that only S3 deployments import boto3."""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from config.storage import refuse_url


class PrivateS3Storage(S3Storage):
    """Objects written private (no public ACL) and never linked by a presigned URL."""

    def url(self, name: str | None, parameters=None, expire=None, http_method=None) -> str:
        return refuse_url(name)
