from __future__ import annotations

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from ..models.ownership import PATIENT_IMMUTABLE, PatientOwned


def form_for_patient(form_class: type[forms.BaseForm], patient_id: int | None, model) -> type:
    """``form_class`` bound to the patient ``patient_id``: the choices of the patient's objects
    (``model.patient_owned_fields``) offer only theirs, none while the patient is unsaved, and a
    POST naming another patient where the patient is read-only is refused."""
    owned = getattr(model, "patient_owned_fields", ())

    class PatientForm(form_class):
        def clean(self):
            cleaned = super().clean()
            # The patient is read-only here; a POST naming another one is refused, not ignored.
            named = self.data.get(self.add_prefix("patient"))
            if "patient" not in self.fields and named not in (None, "", str(patient_id)):
                what = model._meta.verbose_name
                raise forms.ValidationError(PATIENT_IMMUTABLE.format(what=what), code="immutable")
            return cleaned

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name in owned:
                field = self.fields.get(name)
                if field is None:
                    continue
                field.queryset = (
                    field.queryset.none()
                    if patient_id is None
                    else field.queryset.filter(patient_id=patient_id)
                )

    PatientForm.__name__ = form_class.__name__
    return PatientForm


class PatientScopedAdmin(admin.ModelAdmin):
    """Narrows every list, form and lookup to ``visible_to(request.user)``.

    Clinicians need no Django permission rows: their role decides. They may view and edit
    their patients' rows; only staff add patients or delete accounts.

    A row of a patient's diary (:class:`PatientOwned`) keeps its patient once created, and its
    choice lists (body site, ...) offer only objects of that patient: the model and the database
    refuse the rest anyway, but a choice that cannot be saved should not be offered.
    """

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and (user.sees_all_patients or user.is_clinician)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices in forms are scoped too, or a clinician could attach rows to anyone.
        return super().formfield_for_foreignkey(
            db_field, request, **scoped_choices(db_field, request, kwargs)
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and isinstance(obj, PatientOwned) and "patient" not in fields:
            fields.append("patient")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not issubclass(self.model, PatientOwned):
            return form
        if obj is not None:
            return form_for_patient(form, obj.patient_id, self.model)
        # An add form: once a patient is named (?patient= or the POST), only their objects are
        # valid choices; before that every visible one is, and clean() checks the pair.
        chosen = request.POST.get("patient") or request.GET.get("patient") or ""
        return form_for_patient(form, int(chosen), self.model) if chosen.isdecimal() else form


def scoped_choices(db_field, request, kwargs: dict) -> dict:
    """``kwargs`` with the choices of a foreign key narrowed to what ``request.user`` may see."""
    related = db_field.related_model
    if hasattr(related.objects, "visible_to"):
        return {**kwargs, "queryset": related.objects.visible_to(request.user)}
    return kwargs


class PatientRowsFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Django silently skips an edited row that is not among the patient's (a forged id):
        # refuse the whole page instead, so the user sees that nothing was saved.
        if any(form.instance.pk is None for form in self.initial_forms):
            raise forms.ValidationError(
                "A row on this page is not one of this patient's (or was deleted meanwhile); "
                "nothing was saved.",
                code="foreign_row",
            )


class PatientRowsInline(admin.TabularInline):
    """Rows of the patient on the patient's page: choices of the patient's objects only."""

    formset = PatientRowsFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(
            db_field, request, **scoped_choices(db_field, request, kwargs)
        )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = form_for_patient(formset.form, getattr(obj, "pk", None), self.model)
        return formset
