"""Send photos stuck in ``pending`` or ``processing`` to the analysis queue again.

The same work as the periodic ``diary.requeue_stale_photos`` task, for operators: after a broker
outage, or to drain the backlog without waiting for celery beat.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from diary.services.recovery import photos_requeue_stale


class Command(BaseCommand):
    help = "Requeue the analysis of photos left pending or processing longer than a timeout."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes",
            type=float,
            default=None,
            help="Staleness timeout (default: the PIPELINE_STALE_AFTER setting).",
        )
        parser.add_argument("--limit", type=int, default=None, help="At most this many photos.")
        parser.add_argument("--dry-run", action="store_true", help="Only list the photos.")

    def handle(self, *args, older_than_minutes, limit, dry_run, **options):
        older_than = None if older_than_minutes is None else timedelta(minutes=older_than_minutes)
        ids = photos_requeue_stale(older_than=older_than, dry_run=dry_run, limit=limit)
        verb = "Would requeue" if dry_run else "Requeued"
        self.stdout.write(f"{verb} {len(ids)} photo(s): {', '.join(map(str, ids)) or '-'}")
