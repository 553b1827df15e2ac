"""The vocabularies' admin pages: conditions, cell types, instruments, source documents."""

from __future__ import annotations

from django.contrib import admin

from trials import models as m


@admin.register(m.Condition)
class ConditionAdmin(admin.ModelAdmin):
    list_display = ["name", "name_zh", "slug", "parent", "mesh_id"]
    list_select_related = ["parent"]
    search_fields = ["name", "name_zh", "slug", "mesh_id", "synonyms"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(m.CellType)
class CellTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "name_zh", "slug", "category", "cell_ontology_id"]
    list_filter = ["category"]
    search_fields = ["name", "name_zh", "slug", "cell_ontology_id", "synonyms"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(m.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["name", "abbreviation", "slug", "direction", "range_min", "range_max", "unit"]
    list_filter = ["direction"]
    search_fields = ["name", "name_zh", "abbreviation", "slug", "synonyms"]
    prepopulated_fields = {"slug": ["abbreviation"]}


@admin.register(m.CodeSynonyms)
class CodeSynonymsAdmin(admin.ModelAdmin):
    """Search synonyms of routes and cell categories, which are coded lists rather than tables."""

    list_display = ["vocabulary", "code", "synonyms"]
    list_filter = ["vocabulary"]
    search_fields = ["code", "synonyms"]


@admin.register(m.SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "language", "publisher", "published_on"]
    list_filter = ["language"]
    search_fields = ["key", "title", "publisher"]
