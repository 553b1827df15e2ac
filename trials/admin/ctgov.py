"""ClinicalTrials.gov imports in the admin: upload a v2 record (JSON) to create or update its draft, then
read the import report (mapped, guessed for the curator to confirm, left out) and the edits it kept."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trials import models as m
from trials.documents import DocumentError
from trials.services.ctgov import RecordError, import_error_messages, study_import_ctgov
from trials.services.studies import StudyNotEditable

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class CtgovUploadForm(forms.Form):
    record = forms.FileField(
        label=_("Study record (JSON)"),
        help_text=_("As ClinicalTrials.gov's API v2 returns it: /api/v2/studies/NCT01234567"),
    )

    def clean_record(self):
        upload = self.cleaned_data["record"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB: not a single study record."))
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise forms.ValidationError(_("Not a JSON file: %(error)s") % {"error": error}) from None


@admin.register(m.CtgovImport)
class CtgovImportAdmin(admin.ModelAdmin):
    list_display = ["nct_id", "study_link", "last_update_posted", "imported_at", "imported_by", "import_count", "report_counts"]
    list_select_related = ["study", "imported_by"]
    search_fields = ["nct_id", "study__accession", "study__title"]
    readonly_fields = ["nct_id", "study_link", "last_update_posted", "imported_at", "imported_by", "import_count", "report_table"]
    fields = tuple(readonly_fields)
    change_list_template = "admin/trials/ctgovimport/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # imports are made by uploading a record (upload_view), never typed in

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the last import is the common ancestor a re-import merges against

    # An import is part of its study's record: whoever may view studies may read it (no separate role).
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("trials.view_study")

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm("trials.view_study")

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="trials_ctgovimport_upload")
        return [upload, *super().get_urls()]

    @admin.display(description=_("study"), ordering="study__accession")
    def study_link(self, obj: m.CtgovImport):
        url = reverse("admin:trials_study_change", args=[obj.study_id])
        return format_html('<a href="{}">{}</a>', url, obj.study.accession)

    @admin.display(description=_("mapped / guessed / left out"))
    def report_counts(self, obj: m.CtgovImport) -> str:
        counts = {"mapped": 0, "guessed": 0, "left_out": 0}
        for entry in obj.report:
            counts[entry.get("status", "left_out")] = counts.get(entry.get("status", "left_out"), 0) + 1
        return f"{counts['mapped']} / {counts['guessed']} / {counts['left_out']}"

    @admin.display(description=_("report"))
    def report_table(self, obj: m.CtgovImport):
        return render_to_string("admin/trials/ctgovimport/report.html", {"entry": obj})

    def upload_view(self, request):
        if not request.user.has_perm("trials.add_study"):
            raise PermissionDenied
        form = CtgovUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = study_import_ctgov(record=form.cleaned_data["record"], by=request.user)
            except (RecordError, DocumentError, StudyNotEditable) as error:
                for field_path, texts in import_error_messages(error).items():
                    for text in texts:
                        prefix = "" if field_path == "non_field_errors" else f"{field_path}: "
                        form.add_error(None, f"{prefix}{text}")
            else:
                counts = result.mapped.counts()
                messages.success(
                    request,
                    _(
                        "%(nct)s → %(accession)s (%(outcome)s): %(mapped)s mapped, %(guessed)s guessed for you to "
                        "confirm, %(left_out)s left out."
                    )
                    % {"nct": result.mapped.nct_id, "accession": result.study.accession, "outcome": result.outcome, **counts},
                )
                if result.conflicts:
                    messages.warning(
                        request,
                        _("Your edits were kept where ClinicalTrials.gov changed the same thing: %(keys)s.")
                        % {"keys": ", ".join(conflict["key"] for conflict in result.conflicts)},
                    )
                record = m.CtgovImport.objects.get(nct_id=result.mapped.nct_id)
                return HttpResponseRedirect(reverse("admin:trials_ctgovimport_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Import a ClinicalTrials.gov record"),
        }
        return TemplateResponse(request, "admin/trials/ctgovimport/upload.html", context)
