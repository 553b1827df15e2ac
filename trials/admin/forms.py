"""The admin's study form and inlines as a study document, and the document's errors back on the forms.

The admin validates each row with its model's rules as any ModelForm does; the rules across rows and the
study as a whole are the document's (trials.documents), checked by `DocumentCheck` before anything is
saved and reported on the very field they concern. Saving then hands the same document to the service.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorList
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trials import models as m
from trials.documents import PARTS, DocumentError, load_document, parse_document, row_document
from trials.documents.spec import STUDY_DATES, STUDY_FIELD_KEYS, Part, model_field
from trials.documents.values import format_partial_date, to_json

PATH = re.compile(r"^(?P<part>\w+)\[(?P<index>\d+)\](?:\.(?P<child>\w+)\[(?P<child_index>\d+)\])?(?:\.(?P<field>\w+))?$")


class StudyAdminForm(forms.ModelForm):
    """Carries the edit the curator loaded, so that a save over someone else's newer save is refused."""

    loaded_edit = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance._admin_form = self  # DocumentCheck reports study-level errors here
        if self.instance.pk and not self.is_bound:
            self.fields["loaded_edit"].initial = self.instance.edit_count

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk:
            loaded = cleaned.get("loaded_edit")
            # Locked until the admin's transaction ends: no save can slip in between check and write.
            current = m.Study.objects.select_for_update().filter(pk=self.instance.pk).values_list("edit_count", flat=True).first()
            if loaded is not None and current is not None and loaded != current:
                raise ValidationError(stale_edit_message(self.instance, loaded, current), code="stale")
        return cleaned


def stale_edit_message(study: m.Study, loaded: int, current: int) -> str:
    """Who changed the study since the curator opened it, and which of the study's own fields."""
    records = list(study.history.filter(edit_count__gt=loaded).select_related("history_user").order_by("history_date"))
    changed: set[str] = set()
    base = study.history.filter(edit_count=loaded).order_by("-history_date").first()
    if base and records:
        changed = {change.field for change in records[-1].diff_against(base).changes}
    who = ", ".join(sorted({str(r.history_user) for r in records if r.history_user})) or _("another curator")
    when = records[-1].history_date if records else timezone.now()
    fields = ", ".join(
        str(model_field(m.Study, f).verbose_name) for f in sorted(changed) if f not in ("edit_count", "updated_at")
    )
    return str(
        _(
            "This study was changed by %(who)s at %(when)s; your copy is out of date%(fields)s. "
            "Your changes were not saved: reload the page to see the current study, then make your edits again."
        )
    ) % {
        "who": who,
        "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
        "fields": (str(_(" (fields changed: %s)")) % fields) if fields else "",
    }


# --- the forms as a document ----------------------------------------------------------------------------


def live_forms(formset) -> list[Any]:
    """The formset's rows as saved: not deleted, and not an empty extra form."""
    deleted = set(map(id, getattr(formset, "deleted_forms", [])))
    return [form for form in formset.forms if id(form) not in deleted and (form.instance.pk is not None or form.has_changed())]


def top_formsets(formsets) -> dict[type, Any]:
    return {
        formset.model: formset for formset in formsets if hasattr(formset, "model") and not getattr(formset, "is_nested", False)
    }


def admin_document(study: m.Study, formsets) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The study (its form's instance, with the posted values) and its inlines' rows as a document, and
    the forms behind each list in document order (to put errors back where they belong)."""
    stored = load_document(study) if study.pk else {}
    document: dict[str, Any] = {}
    for key in STUDY_FIELD_KEYS:
        if key in STUDY_DATES:
            document[key] = format_partial_date(getattr(study, key), getattr(study, f"{key}_precision")) or None
        else:
            document[key] = to_json(model_field(m.Study, key), getattr(study, key))
    top = top_formsets(formsets)
    sources: dict[str, list[Any]] = {}
    countries = top.get(m.StudyCountry)
    if countries is None:
        document["countries"] = stored.get("countries", [])
    else:
        document["countries"] = [str(form.instance.country.code or form.instance.country) for form in live_forms(countries)]
    new_labels: dict[int, str] = {}  # a cohort renamed in this very save: its rows follow it
    for part in PARTS:
        formset = top.get(part.model)
        if formset is None:  # an inline the user may not see: its rows stay as stored
            document[part.name] = stored.get(part.name, [])
            continue
        rows = live_forms(formset)
        sources[part.name] = rows
        document[part.name] = [_form_row(part, form, sources) for form in rows]
        if part.name == "cohorts":
            new_labels = {form.instance.pk: form.instance.label for form in rows if form.instance.pk}
        elif "cohort" in part.keys:
            for form, row in zip(rows, document[part.name], strict=True):
                if form.instance.cohort_id in new_labels:
                    row["cohort"] = new_labels[form.instance.cohort_id]
    return document, sources


def _form_row(part: Part, form: Any, sources: dict) -> dict[str, Any]:
    children = {}
    for child in part.children:
        nested = next((fs for fs in getattr(form, "nested_formsets", []) if fs.model is child.model), None)
        rows = live_forms(nested) if nested is not None else []
        sources.setdefault(child.name, []).append(rows)
        children[child.name] = [row_document(child, child_form.instance) for child_form in rows]
    return row_document(part, form.instance, children=children)


class DocumentCheck:
    """A stand-in formset, last in the admin's list: valid when the document the forms make is valid.

    Its errors go onto the forms they concern (`outcomes[3].timepoint` onto the fourth outcome's timepoint
    field), or onto the study form for rules across rows, so the curator sees each where it applies.
    """

    model = None
    forms: list = []
    data: dict = {}
    can_delete = False
    new_objects: list = []
    changed_objects: list = []
    deleted_objects: list = []

    def __init__(self, study: m.Study, formsets: list) -> None:
        self.study = study
        self.formsets = formsets
        self._valid: bool | None = None

    def has_changed(self) -> bool:
        return False

    def non_form_errors(self) -> ErrorList:
        return ErrorList()

    @property
    def errors(self) -> list:
        return []

    def total_error_count(self) -> int:
        return 0

    def is_valid(self) -> bool:
        if self._valid is None:
            self._valid = self._check()
        return self._valid

    def _check(self) -> bool:
        form = getattr(self.study, "_admin_form", None)
        if form is None or not form.is_valid() or not all(fs.is_valid() for fs in self.formsets if fs is not self):
            return True  # the forms' own errors come first
        document, sources = admin_document(self.study, self.formsets)
        try:
            parse_document(document, study=self.study)
        except DocumentError as error:
            for path, messages in error.errors.items():
                for message in messages:
                    place_error(form, sources, path, message)
            return False
        return True


def place_error(form: forms.Form, sources: dict, path: str, message: str) -> None:
    target: Any
    match = PATH.match(path)
    target, field = form, path
    if match:
        rows = sources.get(match["part"], [])
        index = int(match["index"])
        if index < len(rows):
            target, field = rows[index], match["field"] or ""
            if match["child"]:
                nested = sources.get(match["child"], [])
                child_rows = nested[index] if index < len(nested) else []
                child_index = int(match["child_index"])
                target = child_rows[child_index] if child_index < len(child_rows) else form
    if field and field in target.fields:
        target.add_error(field, message)
    else:
        form.add_error(None, f"{path}: {message}" if target is form and path not in form.fields else message)
