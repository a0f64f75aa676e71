"""Celery tasks: thin wrappers that load by primary key and call a service."""

from celery import shared_task


@shared_task(name="diary.analyse_photo", acks_late=True, reject_on_worker_lost=True)
def analyse_photo(photo_id: int) -> None:
    from .services.analysis import photo_analyse

    photo_analyse(photo_id=photo_id)
