"""Page-number pagination with a total count, up to 1,000 items a page.

`next` and `previous` are left out when there is no such page (not `null`), and a malformed `page` or
`page_size` is a 400 naming the parameter instead of being silently replaced by a default.
"""

from __future__ import annotations

from django.core.paginator import InvalidPage
from rest_framework import exceptions, pagination
from rest_framework.response import Response

from trials.filters import MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE = 100


def positive_int(request, name: str, maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["Enter a whole number."]}) from None
    if value < 1:
        raise exceptions.ValidationError({name: ["Enter a number of at least 1."]})
    if maximum is not None and value > maximum:
        raise exceptions.ValidationError({name: [f"Enter a number no greater than {maximum}."]})
    return value


class RegistryPagination(pagination.PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        return positive_int(request, self.page_size_query_param, self.max_page_size) or self.page_size

    def check_parameters(self, request) -> None:
        """Malformed paging is a 400 even where pages are ignored (CSV): the same request, the same verdict."""
        self.get_page_size(request)
        positive_int(request, self.page_query_param)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = positive_int(request, self.page_query_param) or 1
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise exceptions.NotFound(f"Page {number} does not exist: there are {paginator.num_pages} page(s).") from None
        self.display_page_controls = paginator.num_pages > 1
        return list(self.page)

    def get_paginated_response(self, data) -> Response:
        assert self.page is not None
        body: dict[str, object] = {"count": self.page.paginator.count}
        if self.page.has_next():
            body["next"] = self.get_next_link()
        if self.page.has_previous():
            body["previous"] = self.get_previous_link()
        body["results"] = data
        return Response(body)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "description": "Absent when there is no such page."}
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "description": "Matching items on all pages."},
                "next": {**link, "example": "https://registry.example/api/v1/studies/?page=3"},
                "previous": {**link, "example": "https://registry.example/api/v1/studies/?page=1"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. Ignored by format=csv, which returns every page.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
