from django.db import models


class MeasuredMask(models.Model):
    """A lesion mask of one photo with the severity measures taken on it.

    Shared by the model's masks (:class:`~diary.models.Analysis`) and the clinicians' corrections
    (:class:`~diary.models.Correction`), which are measured by the same severity code and read by
    the same series, charts and exports.
    """

    mask = models.FileField(upload_to="masks/", max_length=255)
    overlay = models.FileField(upload_to="overlays/", max_length=255)
    measures = models.JSONField(default=dict)
    # The measures the series plot, copied out of ``measures`` so they can be queried
    # (segmentation.severity.catalog: each measure's ``column``).
    lesion_skin_fraction = models.FloatField(null=True, blank=True)
    delta_e2000 = models.FloatField(null=True, blank=True)
    ita_difference = models.FloatField(null=True, blank=True)
    rgb_mean_difference = models.FloatField(null=True, blank=True)
    grade = models.CharField(max_length=16, blank=True)

    class Meta:
        abstract = True
