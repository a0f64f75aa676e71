"""Writes: the API's views, the Celery tasks and the management commands change the diary's rows
and files through these. The admin's forms save through Django's ModelAdmin (validated by the
models' ``clean()`` and the database constraints of ``diary/models/ownership.py``)."""
