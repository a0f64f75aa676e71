"""Signal receivers of the diary, connected in ``DiaryConfig.ready``."""

from __future__ import annotations

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from segmentation.services import model_activated

from .models import Photo
from .segmenter_cache import segmenter_cache_clear
from .services.alignment import body_site_realign_if_baseline
from .services.queueing import photos_reanalysis_enqueue


@receiver(model_activated, dispatch_uid="diary.reanalyse_on_model_activation")
def reanalyse_on_model_activation(sender, model, **kwargs) -> None:
    """A new active model re-analyses every photo (low priority); older analyses are kept.

    Sent once the activation committed. Workers notice the change by themselves (the bridge
    compares the active model before every batch); this process's cache is simply dropped.
    """
    segmenter_cache_clear()
    photos_reanalysis_enqueue()


@receiver(pre_delete, sender=Photo, dispatch_uid="diary.realign_when_baseline_deleted")
def realign_when_baseline_deleted(sender, instance: Photo, **kwargs) -> None:
    """A deleted baseline photo: the site's photos are realigned to the earliest remaining one."""
    body_site_realign_if_baseline(photo=instance)
