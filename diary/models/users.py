from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Every account has one role; the role, not ``is_staff``, decides what data it may see."""

    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        CLINICIAN = "clinician", "Clinician"
        STAFF = "staff", "Staff"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)

    @property
    def sees_all_patients(self) -> bool:
        return self.is_superuser or self.role == self.Role.STAFF

    @property
    def is_clinician(self) -> bool:
        return self.role == self.Role.CLINICIAN
