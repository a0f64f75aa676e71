"""The live Celery worker of the pipeline tests, for the generated client's upload under CI."""

from tests.pipeline.conftest import live_services, start_worker  # noqa: F401
