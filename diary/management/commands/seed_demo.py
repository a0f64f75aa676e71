"""Demo accounts for `make run`: a clinician, a staff admin and a patient with a body site."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from diary.models import BodySite, Patient, User
from diary.services.people import patient_create, user_create

DEMO_USERS = ("demo-clinician", "demo-patient", "demo-admin")


class Command(BaseCommand):
    help = "Create (or reset the passwords of) the demo clinician, patient and staff accounts."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        passwords = {name: secrets.token_urlsafe(9) for name in DEMO_USERS}
        clinician = self._user("demo-clinician", User.Role.CLINICIAN, passwords, "Dana", "Derm")
        self._user("demo-admin", User.Role.STAFF, passwords, "Sam", "Staff")
        existing = User.objects.filter(username="demo-patient").first()
        if existing is None:
            patient = patient_create(
                username="demo-patient",
                password=passwords["demo-patient"],
                clinicians=[clinician],
                first_name="Pat",
                last_name="Demo",
                birth_year=1990,
                sex=Patient.Sex.FEMALE,
                fitzpatrick_skin_type=Patient.SkinType.IV,
                validate=False,
            )
        else:
            existing.set_password(passwords["demo-patient"])
            existing.save(update_fields=["password"])
            patient = existing.patient_profile
        BodySite.objects.get_or_create(
            patient=patient, label="left hand, dorsum", defaults={"region": BodySite.Region.HANDS}
        )
        self.stdout.write("Demo accounts (passwords are new on every start):")
        for name in DEMO_USERS:
            self.stdout.write(f"  {name:16} {passwords[name]}")
        self.stdout.write("Admin: http://127.0.0.1:8000/admin/   API docs: /api/v1/docs/")

    def _user(self, username, role, passwords, first, last) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            return user_create(
                username=username,
                password=passwords[username],
                role=role,
                first_name=first,
                last_name=last,
                validate=False,
            )
        user.set_password(passwords[username])
        user.save(update_fields=["password"])
        return user
