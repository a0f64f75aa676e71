"""factory_boy factories for the diary's rows."""

from __future__ import annotations

import datetime as dt

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from diary.models import Analysis, BodySite, Patient, Photo, TreatmentEntry, User
from tests.images import photo_bytes


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClinicianFactory(UserFactory):
    role = User.Role.CLINICIAN
    is_staff = True


class StaffFactory(UserFactory):
    role = User.Role.STAFF
    is_staff = True


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    birth_year = 1985
    fitzpatrick_skin_type = Patient.SkinType.III

    @factory.post_generation
    def clinicians(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.clinicians.set(extracted)


class BodySiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BodySite

    patient = factory.SubFactory(PatientFactory)
    region = BodySite.Region.HANDS
    label = factory.Sequence(lambda n: f"site {n}")


class PhotoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Photo

    body_site = factory.SubFactory(BodySiteFactory)
    patient = factory.SelfAttribute("body_site.patient")
    taken_at = factory.Sequence(lambda n: timezone.now() - dt.timedelta(days=n))
    taken_at_source = Photo.TakenAtSource.CLIENT
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    width = 64
    height = 48
    image = factory.LazyFunction(lambda: ContentFile(photo_bytes(size=(64, 48)), name="p.png"))


class AnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Analysis

    photo = factory.SubFactory(PhotoFactory)
    model_version = "baseline:colour-threshold-v1"
    mask = factory.LazyFunction(lambda: ContentFile(photo_bytes(size=(64, 48)), name="m.png"))
    overlay = factory.LazyFunction(lambda: ContentFile(photo_bytes(size=(64, 48)), name="o.png"))
    lesion_skin_fraction = 0.2
    delta_e2000 = 12.5
    ita_difference = 30.0
    rgb_mean_difference = 25.0
    grade = "medium"


class TreatmentEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentEntry

    patient = factory.SubFactory(PatientFactory)
    date = factory.LazyFunction(lambda: timezone.localdate())
    kind = TreatmentEntry.Kind.PHOTOTHERAPY
    dose = "NB-UVB 300 mJ/cm2"


def register_lraspp_checkpoint(
    checkpoint, *, name: str = "tiny", activate: bool = True, training_data: str = "test"
):
    """Register one of the tests' LR-ASPP-MobileNetV3 checkpoint files through the service."""
    from segmentation.services import model_register

    return model_register(
        name=name,
        checkpoint_path=checkpoint,
        architecture="lraspp",
        backbone="mobilenet_v3_large",
        metrics={},
        training_data=training_data,
        activate=activate,
    )
