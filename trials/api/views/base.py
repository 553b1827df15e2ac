"""What every API view shares: JSON errors whatever the format, `fields=`, paging and streamed CSV."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from trials import models as m

from .. import schema as openapi
from ..csv import CSVRenderer, serialized_rows, stream_csv
from ..etag import ConditionalGetMixin, content_etag
from ..pagination import RegistryPagination
from ..schema import serializer_fields

if TYPE_CHECKING:  # the mixins are only ever mixed into DRF's generic views
    from rest_framework.generics import GenericAPIView as _GenericView
else:
    _GenericView = object

# Accessions in URLs: NCR- and six digits (or more, past a million studies).
ACCESSION_REGEX = r"NCR-\d{6,8}"


def api_version() -> str:
    return str(settings.SPECTACULAR_SETTINGS["VERSION"])


def readable_studies(user) -> QuerySet:
    """Studies under their own accession: public ones for everyone; drafts and studies in review too for
    those who may view them. (A study's private revision is reached through the study, at .../revision/.)"""
    studies = m.Study.objects.records()
    return studies if user.has_perm("trials.view_study") else studies.public()


class Negotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            available = ", ".join(renderer.format for renderer in renderers)
            raise exceptions.NotAcceptable(f"format={format} is not available here; choose from {available}.")
        return matching


class ApiMixin(ConditionalGetMixin):
    content_negotiation_class: Any = Negotiation
    schema: Any = openapi.RegistryAutoSchema()

    def handle_exception(self, exc):
        # Errors are JSON whatever format was asked for: a CSV "error table" would be read as data.
        if isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer):
            self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)


def selected_fields(request, available: list[str]) -> list[str]:
    # An empty `fields=` is "not given", as forms send it; an empty name inside a list is a mistake.
    names = [name.strip() for value in request.query_params.getlist("fields") if value for name in value.split(",")]
    if not names:
        return available
    unknown = [repr(name) for name in names if name not in available]
    if unknown:
        raise exceptions.ValidationError(
            {"fields": [f"Unknown field(s): {', '.join(unknown)}. Choose from: {', '.join(available)}."]}
        )
    return [name for name in available if name in names]


class RegistryListMixin(_GenericView):
    """`list` for every API list: a page of JSON, or with `format=csv` every matching row, streamed."""

    pagination_class: Any = RegistryPagination
    csv_name = "rows"

    def list(self, request, *args, **kwargs):
        serializer_class = self.get_serializer_class()
        available = serializer_fields(serializer_class)
        columns = selected_fields(request, available)
        queryset = self.filter_queryset(self.get_queryset())
        if isinstance(request.accepted_renderer, CSVRenderer):
            assert isinstance(self.paginator, RegistryPagination)
            self.paginator.check_parameters(request)
            return self.csv_response(queryset, serializer_class, columns)
        page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        if len(columns) < len(available):
            data = [{name: item[name] for name in columns} for item in data]
        return self.get_paginated_response(data)

    def csv_response(self, queryset: QuerySet, serializer_class, columns: Sequence[str]):
        response = stream_csv(columns=columns, rows=self.csv_rows(queryset, serializer_class), filename=f"{self.csv_name}.csv")
        # The body is not known before it is streamed: tag what determines it instead.
        query = sorted(
            (key, value)
            for key, values in self.request.query_params.lists()
            if key not in ("page", "page_size")
            for value in values
        )
        response["ETag"] = content_etag(api_version(), self.request.path, query, *self.csv_fingerprint(queryset))
        return response

    def csv_rows(self, queryset: QuerySet, serializer_class) -> Iterator[dict]:
        """Every row's JSON item, serialized a chunk at a time."""
        context = self.get_serializer_context()

        def serialize(chunk: Sequence[Any]) -> Any:
            return serializer_class(chunk, many=True, context=context).data

        return serialized_rows(queryset, serialize)

    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        """What the CSV depends on besides the query. Vocabularies are small: their rows themselves."""
        return tuple(queryset.values_list())


class StudyRowsFingerprintMixin:
    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        # Every change to a study's children bumps the study's updated_at.
        stats = queryset.order_by().aggregate(n=Count("pk"), latest=Max("study__updated_at"))
        return stats["n"], stats["latest"]
