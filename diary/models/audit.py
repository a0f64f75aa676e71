"""The audit log: who read or changed which patients' data. Rows are only ever added."""

from __future__ import annotations

from django.db import models


class AuditLogIsAppendOnly(Exception):
    """An attempt to change or delete an audit row through the ORM."""


class AppendOnlyQuerySet(models.QuerySet):
    # Bulk paths bypass Model.save()/delete(), so they are closed here as well.
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly(f"{self.model._meta.verbose_name_plural} cannot be updated.")

    def delete(self):
        raise AuditLogIsAppendOnly(f"{self.model._meta.verbose_name_plural} cannot be deleted.")


class AppendOnly(models.Model):
    """A record of what happened: rows are added, never changed or deleted through the ORM."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            what = self._meta.verbose_name_plural
            raise AuditLogIsAppendOnly(f"{what} cannot be changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly(f"{self._meta.verbose_name_plural} cannot be deleted.")


class AuditEvent(AppendOnly):
    """One request (or one service call) that touched patient data.

    One row per request listing every patient touched, not one row per object, so that reading a
    page of 20 photos costs one insert. The actor is kept as id and username without a foreign
    key: erasing an account must not rewrite (``SET NULL``) or delete its audit trail.
    """

    class Action(models.TextChoices):
        READ = "read", "Read"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    patient_ids = models.JSONField(default=list)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=500, blank=True)
    view_name = models.CharField(max_length=200, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "created_at"], name="audit_action_created")]

    def __str__(self) -> str:
        return f"{self.actor_username or 'anonymous'} {self.action} {self.path or self.view_name}"
