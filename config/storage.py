"""Where media lives: local disk (one host) or an S3-compatible bucket (worker hosts sharing it).

Photos, masks and overlays are health data, streamed only by views that check who is asking
(``diary.api.photos``, the admin's file view). Neither backend hands out a URL: a public or
presigned link would keep working after the permission check that led to it (a presigned S3 URL
for as long as its expiry, whoever it was forwarded to), so :meth:`url` refuses, and any code that
would render one fails loudly in the tests instead of leaking a link.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage
from environ import Env


class MediaHasNoURL(NotImplementedError):
    """Raised by :meth:`url`: stream the file through a view that checks permissions."""


def refuse_url(name: str | None) -> str:
    raise MediaHasNoURL(
        f"Media has no URL ({name!r}); stream it through a view that checks permissions."
    )


class PrivateFileSystemStorage(FileSystemStorage):
    """Local media (the embedded default): there is no MEDIA_URL route to link to."""

    def url(self, name: str | None) -> str:
        return refuse_url(name)


def default_storage_settings(env: Env) -> dict:
    """``STORAGES["default"]`` from ``DJANGO_STORAGE_BACKEND`` (``local`` or ``s3``) and friends.

    A function, so that the tests configure their S3 server exactly as a deployment does.
    """
    backend = env("DJANGO_STORAGE_BACKEND", default="local")
    if backend == "local":
        return {"BACKEND": "config.storage.PrivateFileSystemStorage"}
    if backend != "s3":
        raise ValueError(f"DJANGO_STORAGE_BACKEND is {backend!r}; use 'local' or 's3'.")
    return {
        "BACKEND": "config.storage_s3.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }


def storage_errors() -> tuple[type[BaseException], ...]:
    """The S3 backend's errors that are not ``OSError`` (an unreachable endpoint, a 5xx answer):
    the pipeline retries them like a local disk's I/O errors. A missing object is already a
    ``FileNotFoundError`` (django-storages converts the 404)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # boto3 is only needed with DJANGO_STORAGE_BACKEND=s3
        return ()
    return (BotoCoreError, ClientError)
