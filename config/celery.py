"""The Celery app. Workers: ``celery -A config worker -Q gpu`` (see README, "Workers")."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("vitiligo_diary")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Thread pools sized from the host's cores and the worker's concurrency (signal receivers).
from config import worker_threads  # noqa: E402, F401
