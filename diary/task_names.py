"""The names of the diary's Celery tasks: the one place they are spelled.

A leaf module (it imports nothing) so that the settings (routes, beat schedule), the tasks and
the publisher can all use it. Tasks are published by name (``diary/services/queueing.py``), so the
services never import ``diary.tasks``.
"""

ANALYSE_PHOTO = "diary.analyse_photo"
REANALYSE_PHOTOS = "diary.reanalyse_photos"
TIME_LIMIT_EXCEEDED = "diary.analysis_time_limit_exceeded"
REQUEUE_STALE_PHOTOS = "diary.requeue_stale_photos"
SWEEP_STORED_FILES = "diary.sweep_stored_files"
REALIGN_BODY_SITE = "diary.realign_body_site"
