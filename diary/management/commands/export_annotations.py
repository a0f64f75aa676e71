"""``manage.py export_annotations OUT``: consenting patients' corrected photos as training data.

A thin adapter over :func:`diary.services.research_export.research_export` (docs/corrections.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diary.models import User
from diary.services.errors import ServiceError
from diary.services.research_export import research_export


def _day(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class Command(BaseCommand):
    help = (
        "Write the corrected photos of patients who consented to research as a training-data "
        "folder (images/, masks/, metadata.csv with one group per patient)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("out", type=Path, help="the folder to write (empty, or --force)")
        parser.add_argument(
            "--since",
            type=_day,
            default=None,
            help="only photos whose correction in force was saved on or after this day "
            "(YYYY-MM-DD, the site's time zone)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace images/, masks/ and metadata.csv of a non-empty OUT",
        )
        parser.add_argument("--by", default=None, help="your username, for the audit log")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        actor = None
        if options["by"] is not None:
            actor = User.objects.filter(username=options["by"]).first()
            if actor is None:
                raise CommandError(f"no account named {options['by']!r}")
        try:
            result = research_export(
                out=options["out"],
                since=options["since"],
                force=options["force"],
                actor=actor,
                progress=not options["no_progress"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if not result.photos:
            self.stdout.write(
                self.style.WARNING("No corrected photos of consenting patients: nothing exported.")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"exported {result.photos} photos of {len(result.patient_ids)} patients "
                f"to {options['out']}"
            )
        )
