"""Accounts: patients, clinicians and staff."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from ..models import Patient, User
from ..models.patients import validate_time_zone


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
    time_zone: str | None = None,
    validate: bool = True,
    **names: str,
) -> Patient:
    """Create a patient account with its profile, assigned to ``clinicians``; ``time_zone`` is
    an IANA name (default: the site's)."""
    user = user_create(
        username=username, password=password, role=User.Role.PATIENT, validate=validate, **names
    )
    patient = Patient(
        user=user, birth_year=birth_year, sex=sex, fitzpatrick_skin_type=fitzpatrick_skin_type
    )
    if time_zone is not None:
        validate_time_zone(time_zone)
        patient.time_zone = time_zone
    patient.save()
    for clinician in clinicians:
        if not clinician.is_clinician:
            raise ValueError(f"{clinician} is not a clinician")
    patient.clinicians.set(clinicians)
    return patient
