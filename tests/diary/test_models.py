import ast
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from diary.models import Analysis, BodySite, Photo, access
from segmentation.models import SegmentationModel
from tests.factories import (
    AnalysisFactory,
    BodySiteFactory,
    ClinicianFactory,
    PatientFactory,
    PhotoFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_body_site_labels_are_unique_per_patient_only():
    site = BodySiteFactory(label="left hand")
    BodySiteFactory(label="left hand")  # another patient may reuse it
    with pytest.raises(IntegrityError), transaction.atomic():
        BodySite.objects.create(patient=site.patient, region="hands", label="left hand")


def test_same_content_is_one_photo_per_patient():
    photo = PhotoFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PhotoFactory(body_site=photo.body_site, sha256=photo.sha256)
    PhotoFactory(sha256=photo.sha256)  # the same bytes for another patient are a new photo


def test_one_analysis_per_photo_and_model_version():
    analysis = AnalysisFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AnalysisFactory(photo=analysis.photo, model_version=analysis.model_version)
    AnalysisFactory(photo=analysis.photo, model_version="model:other:12345678")
    assert Analysis.objects.filter(photo=analysis.photo).count() == 2


def test_at_most_one_active_segmentation_model():
    SegmentationModel.objects.create(
        name="a", architecture="fcn", backbone="resnet50", is_active=True
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentationModel.objects.create(
            name="b", architecture="fcn", backbone="resnet50", is_active=True
        )
    SegmentationModel.objects.create(name="c", architecture="fcn", backbone="resnet50")


def test_visible_to_scopes_by_role():
    clinician, other = ClinicianFactory(), ClinicianFactory()
    mine = PatientFactory(clinicians=[clinician])
    theirs = PatientFactory(clinicians=[other])
    shared = PatientFactory(clinicians=[clinician, other])
    for patient in (mine, theirs, shared):
        PhotoFactory(body_site=BodySiteFactory(patient=patient))

    def ids(user):
        return set(Photo.objects.visible_to(user).values_list("patient_id", flat=True))

    assert ids(clinician) == {mine.pk, shared.pk}
    assert ids(other) == {theirs.pk, shared.pk}
    assert ids(mine.user) == {mine.pk}
    assert ids(StaffFactory()) == {mine.pk, theirs.pk, shared.pk}
    assert ids(UserFactory(role="clinician")) == set()
    # Two clinicians on one patient must not duplicate its rows.
    assert Photo.objects.visible_to(clinician).count() == 2


def test_the_access_rule_imports_none_of_the_models_it_restricts():
    # Lookups per queryset (NetBox's restrict()), not model classes: no access <-> patients cycle.
    tree = ast.parse(Path(access.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"__future__", "django.db"}


def test_photo_indexes_cover_the_series_queries():
    index_fields = {tuple(index.fields) for index in Photo._meta.indexes}
    assert ("patient", "taken_at") in index_fields
    assert ("body_site", "taken_at") in index_fields
