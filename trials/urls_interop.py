"""The standard formats' URLs (trials.views.interop): FHIR R5 under /fhir/, TRDS XML and the bulk dump
under /api/v1/. Outside the language prefix: these are data, not pages."""

from django.urls import path

from .views import interop

ACCESSION = "<str:accession>"

urlpatterns = [
    path("fhir/metadata", interop.fhir_metadata, name="fhir-metadata"),
    path("fhir/ResearchStudy", interop.fhir_research_study_search, name="fhir-research-study-search"),
    path(f"fhir/ResearchStudy/{ACCESSION}", interop.fhir_research_study, name="fhir-research-study"),
    path("fhir/AdverseEvent", interop.fhir_adverse_event_search, name="fhir-adverse-event-search"),
    path("fhir/AdverseEvent/<str:resource_id>", interop.fhir_adverse_event, name="fhir-adverse-event"),
    path("api/v1/trds/studies/", interop.trds_search, name="trds-search"),
    path(f"api/v1/trds/studies/{ACCESSION}/", interop.trds_study, name="trds-study"),
    path("api/v1/export/studies.jsonl.gz", interop.jsonl_export, name="jsonl-export"),
]
