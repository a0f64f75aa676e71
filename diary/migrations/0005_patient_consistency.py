"""A photo or treatment can only name a body site of its own patient, in the database itself.

PostgreSQL: composite foreign keys ``(body_site_id, patient_id) -> bodysite (id, patient_id)``,
on top of the unique (id, patient) of body sites. They also refuse moving a body site that has
photos or treatments to another patient (ON UPDATE NO ACTION). They are DEFERRABLE INITIALLY
IMMEDIATE: a bad write fails at its statement, and a deliberate repair may still defer them.

SQLite (development and the default test run) cannot add a foreign key to an existing table, so
triggers state the same rule there. Django rebuilds a SQLite table for some later schema changes,
which drops its triggers: tests/diary/test_patient_consistency.py checks they are still there.

Rows that already disagree (the admin let them through before) stop the migration with their ids:
which side is right is a clinical decision, not one for a migration to guess.
"""

from django.db import migrations, models

# (table, name of the constraint or the prefix of its triggers)
PAIRS = [
    ("diary_photo", "photo_body_site_same_patient"),
    ("diary_treatmententry", "treatment_body_site_same_patient"),
]
MESSAGE = "a body site of another patient"


def _check_existing_rows(cursor) -> None:
    problems = []
    for table, _ in PAIRS:
        cursor.execute(
            f"SELECT t.id FROM {table} t JOIN diary_bodysite s ON s.id = t.body_site_id"
            " WHERE s.patient_id <> t.patient_id ORDER BY t.id"
        )
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            problems.append(f"{table} rows {ids} name {MESSAGE}")
    if problems:
        raise RuntimeError(
            "Cannot add the patient consistency constraints: "
            + "; ".join(problems)
            + ". Point each at a body site of its own patient (in the admin), then migrate again."
        )


def _postgresql(cursor) -> None:
    for table, name in PAIRS:
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (body_site_id, patient_id)"
            " REFERENCES diary_bodysite (id, patient_id) DEFERRABLE INITIALLY IMMEDIATE"
        )


def _sqlite(cursor) -> None:
    for table, name in PAIRS:
        wrong_site = (
            "EXISTS (SELECT 1 FROM diary_bodysite WHERE id = NEW.body_site_id"
            " AND patient_id <> NEW.patient_id)"
        )
        for event in ("INSERT", "UPDATE OF body_site_id, patient_id"):
            suffix = event.split()[0].lower()
            cursor.execute(
                f"CREATE TRIGGER {name}_{suffix} BEFORE {event} ON {table}"
                f" WHEN {wrong_site} BEGIN"
                f" SELECT RAISE(ABORT, '{name}: {table} names {MESSAGE}'); END"
            )
    referencing = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE body_site_id = OLD.id"
        " AND patient_id <> NEW.patient_id)"
        for table, _ in PAIRS
    )
    cursor.execute(
        "CREATE TRIGGER body_site_patient_keeps_its_rows BEFORE UPDATE OF id, patient_id"
        f" ON diary_bodysite WHEN {referencing} BEGIN"
        " SELECT RAISE(ABORT, 'body_site_patient_keeps_its_rows: the body site has photos or"
        " treatments of its patient'); END"
    )


def forwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        _check_existing_rows(cursor)
        if vendor == "postgresql":
            _postgresql(cursor)
        elif vendor == "sqlite":
            _sqlite(cursor)
        else:
            raise RuntimeError(f"No patient consistency constraint written for {vendor}")


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            for table, name in PAIRS:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
        elif vendor == "sqlite":
            names = [f"{name}_{suffix}" for _, name in PAIRS for suffix in ("insert", "update")]
            for trigger in [*names, "body_site_patient_keeps_its_rows"]:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0004_photo_attempts"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="bodysite",
            constraint=models.UniqueConstraint(
                fields=("id", "patient"), name="body_site_id_patient_unique"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
