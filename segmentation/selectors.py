from .models import SegmentationModel


def active_model_get() -> SegmentationModel | None:
    """The model that analyses new photos, or ``None`` when the colour baseline does."""
    return SegmentationModel.objects.filter(is_active=True).first()
