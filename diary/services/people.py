"""Accounts: patients, clinicians and staff."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from ..models import Patient, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    validate: bool = True,
) -> User:
    """Create an account. Clinicians and staff may log in to the admin; patients use the app."""
    if role not in User.Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {User.Role.values}")
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=role in (User.Role.CLINICIAN, User.Role.STAFF),
    )
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def patient_create(
    *,
    username: str,
    password: str,
    clinicians: list[User] | tuple[User, ...] = (),
    birth_year: int | None = None,
    sex: str = Patient.Sex.UNKNOWN,
    fitzpatrick_skin_type: int | None = None,
    validate: bool = True,
    **names: str,
) -> Patient:
    """Create a patient account with its profile, assigned to ``clinicians``."""
    user = user_create(
        username=username, password=password, role=User.Role.PATIENT, validate=validate, **names
    )
    patient = Patient.objects.create(
        user=user, birth_year=birth_year, sex=sex, fitzpatrick_skin_type=fitzpatrick_skin_type
    )
    for clinician in clinicians:
        if not clinician.is_clinician:
            raise ValueError(f"{clinician} is not a clinician")
    patient.clinicians.set(clinicians)
    return patient
