"""Writes to the model registry."""

from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.dispatch import Signal

from .hashing import file_sha256
from .models import SegmentationModel

#: Sent after a model became the active one (``sender=SegmentationModel, model=...``), once the
#: transaction commits. The diary re-analyses existing photos with it.
model_activated = Signal()


@transaction.atomic
def model_register(
    *,
    name: str,
    checkpoint_path: Path,
    architecture: str,
    backbone: str,
    metrics: dict,
    training_data: str,
    activate: bool = False,
    minimal_detectable_change: dict[str, float] | None = None,
    quality_notes: dict | None = None,
) -> SegmentationModel:
    """Copy a checkpoint into storage and record it; optionally make it the active model."""
    checkpoint_path = Path(checkpoint_path)
    if not checkpoint_path.is_file():
        raise FileNotFoundError(f"No checkpoint at {checkpoint_path}")
    sha256 = file_sha256(checkpoint_path)
    model = SegmentationModel(
        name=name,
        architecture=architecture,
        backbone=backbone,
        checkpoint_sha256=sha256,
        training_data=training_data,
        metrics=metrics,
        minimal_detectable_change=minimal_detectable_change or {},
        quality_notes=quality_notes or {},
    )
    with checkpoint_path.open("rb") as handle:
        model.checkpoint.save(f"{name}-{sha256[:8]}.pth", File(handle), save=False)
    try:
        model.save()
    except Exception:
        model.checkpoint.delete(save=False)
        raise
    if activate:
        model_activate(model=model)
    return model


@transaction.atomic
def model_activate(*, model: SegmentationModel) -> None:
    """Make ``model`` the only active model, then announce it once the change is committed."""
    SegmentationModel.objects.select_for_update().filter(is_active=True).exclude(
        pk=model.pk
    ).update(is_active=False)
    SegmentationModel.objects.filter(pk=model.pk).update(is_active=True)
    model.is_active = True
    transaction.on_commit(lambda: model_activated.send(sender=SegmentationModel, model=model))
