"""OpenAPI additions drf-spectacular cannot infer: the error responses every operation can give, the
conditional-request headers, and the list parameters the views read themselves."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, transaction
from drf_spectacular.extensions import OpenApiFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes
from rest_framework import serializers

from trials import models as m
from trials.filters import MAX_PAGE_SIZE, SlugMultipleFilter

from .filters import BOOLEAN_VALUES
from .throttling import AnonymousRateThrottle


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, publish_permission_required, not_found, method_not_allowed, not_acceptable, conflict, "
        "invalid_state, blocking_comments, "
        "precondition_failed, unsupported_media_type, throttled."
    )
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(  # type: ignore[assignment]  # the error body's key; DRF takes it as a field
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages per field path, e.g. "adverse_events[2].n_affected"; empty when no field is at fault.',
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "Entity tag; send it back in If-None-Match or If-Match."}}
RETRY_AFTER_HEADER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}

ERROR_DESCRIPTIONS = {
    "400": "Invalid parameters or document; `fields` says which.",
    "401": "Authentication required (send `Authorization: Token <key>`), or the token is invalid.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such resource or page.",
    "406": "No representation in the requested format.",
    "409": "Conflicts with the study's state.",
    "412": "If-Match / If-None-Match precondition failed: the study changed since it was read.",
    "415": "The body must be application/json.",
    "429": "Too many requests from this address; see Retry-After.",
}
READ_ERRORS = ["400", "404", "406", "429"]
WRITE_ERRORS = ["400", "401", "403", "404", "406", "412", "415", "429"]
METHOD_ERRORS = {
    "get": READ_ERRORS,
    "head": READ_ERRORS,
    "post": ["400", "401", "403", "406", "415", "429"],
    "put": WRITE_ERRORS,
    "patch": WRITE_ERRORS,
    # A path holding control characters is refused before any view (trials.middleware), deletes included.
    "delete": ["400", "401", "403", "404", "406", "409", "412", "429"],
}
CONDITIONAL_READ = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag you hold: 304 Not Modified when it is still current.",
)
CONDITIONAL_WRITE = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag you read: the write is refused with 412 if the study has changed since.",
)


def list_parameters(serializer_class: type[serializers.Serializer], fields_note: str = "") -> list[OpenApiParameter]:
    """`fields` and `format`, which every list reads itself (not through a FilterSet)."""
    return [
        OpenApiParameter(
            "fields",
            {"type": "array", "items": {"type": "string", "enum": serializer_fields(serializer_class)}},
            style="form",
            explode=False,
            description="Comma-separated keys to return, in JSON and CSV alike (default: all)." + fields_note,
        ),
        OpenApiParameter(
            "format",
            OpenApiTypes.STR,
            enum=["json", "csv"],
            description="csv: every matching row (all pages; `page` and `page_size` are ignored), streamed, one "
            "column per JSON key. Lists are joined with `|`, true/false as in JSON, null is an empty cell.",
        ),
    ]


EXPAND_PARAMETER = OpenApiParameter(
    "expand",
    OpenApiTypes.STR,
    enum=["children"],
    description="children: whole study documents (as GET /api/v1/studies/{accession}/ returns them) instead of "
    f"summaries, up to page_size={MAX_PAGE_SIZE} per page in a fixed number of queries. JSON only.",
)


class RegistryAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, told that a read-only choice can be blank when its model field is.

    ModelSerializer drops `allow_blank` from read-only fields, so the schema would promise one of the
    choices where a document holds "" (an unknown phase, a timepoint without unit ...).
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.ChoiceField) and not field.allow_blank and _model_field_is_blank(field):
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _model_field_is_blank(field: serializers.Field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not isinstance(field.source, str) or not field.source or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False


class DeclaredFilterParameters(OpenApiFilterExtension):
    """The API's filter backends document nothing themselves: each view declares its parameters with
    `filter_parameters()`, which knows the method filters' types that introspection has to guess."""

    target_class = "trials.api.filters.StudyFilterBackend"
    match_subclasses = True
    priority = 1

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs) -> list:
        return []


def serializer_fields(serializer_class: Any) -> list[str]:
    """The keys a serializer declares, in order (every API serializer lists them explicitly)."""
    return list(serializer_class.Meta.fields)


VOCABULARY_LISTS: dict[Any, str] = {
    m.Condition: "conditions",
    m.CellType: "cell-types",
    m.Instrument: "instruments",
    m.Organisation: "organisations",
}


def _choice_values(filter_: df.Filter) -> list[str]:
    choices = filter_.extra["choices"]
    return [str(value) for value, _label in (choices() if callable(choices) else choices)]


def filter_parameters(filterset_class: type[df.FilterSet]) -> list[OpenApiParameter]:
    """A FilterSet's query parameters as OpenAPI, declared rather than guessed from method filters.

    Multiple-choice filters take the parameter repeated (`phase=phase1&phase=phase2`, any of). A
    vocabulary's slugs are filled in by `postprocess_schema` when the schema is generated, since
    they are data, not code.
    """
    parameters = []
    for name, filter_ in filterset_class.base_filters.items():
        description = " ".join(str(part) for part in (filter_.label, filter_.extra.get("help_text")) if part)
        extensions = None
        if isinstance(filter_, SlugMultipleFilter):
            vocabulary = VOCABULARY_LISTS[filter_.vocabulary]
            schema = {"type": "array", "items": {"type": "string"}}
            description += f" Slugs, any of (see /api/v1/{vocabulary}/)."
            extensions = {"x-vocabulary": vocabulary}
        elif isinstance(filter_, df.MultipleChoiceFilter):
            schema = {"type": "array", "items": {"type": "string", "enum": _choice_values(filter_)}}
            description += " Any of."
        elif isinstance(filter_, df.ChoiceFilter):
            schema = {"type": "string", "enum": _choice_values(filter_)}
        elif isinstance(filter_, df.BooleanFilter):
            schema = {"type": "string", "enum": BOOLEAN_VALUES}
            description += ' "unknown": either.'
        elif isinstance(filter_, df.NumberFilter):
            schema = {"type": "number"}
            default_maximum = filter_.get_max_validator()  # django-filter's own guard against huge numbers
            for key, bound, default in (("minimum", "min_value", None), ("maximum", "max_value", default_maximum)):
                limit = filter_.extra.get(bound, default.limit_value if default else None)
                if limit is not None:
                    schema[key] = limit
        else:
            # Control characters are refused before any view (trials.middleware), as Django's forms refuse NUL.
            schema = {"type": "string", "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"}
        parameters.append(
            OpenApiParameter(
                name,
                schema,
                OpenApiParameter.QUERY,
                description=description,
                explode=True if schema["type"] == "array" else None,
                extensions=extensions,
            )
        )
    return parameters


# A list whose items may be another component: /api/v1/studies/?expand=children lists documents.
EXPANDED_ITEMS = {"PaginatedStudySummaryList": "StudyDocument"}


def _selectable_list_items(schemas: dict) -> None:
    """List items hold only the keys `fields=` names, so in lists no key is required.

    Each list's item component gets a copy without `required` (its nested objects keep theirs),
    leaving the component as it is where it stands alone, e.g. the document of GET /studies/{accession}/.
    """
    for name, component in list(schemas.items()):
        if not (name.startswith("Paginated") and name.endswith("List")):
            continue
        results = component["properties"]["results"]
        targets = [results["items"]["$ref"].rsplit("/", 1)[1], *filter(None, [EXPANDED_ITEMS.get(name)])]
        refs = []
        for target in targets:
            selected = f"Selected{target}"
            if selected not in schemas:
                schemas[selected] = {key: value for key, value in schemas[target].items() if key != "required"}
                schemas[selected]["description"] = f"{target}, with only the keys named by `fields` when it is given."
            refs.append({"$ref": f"#/components/schemas/{selected}"})
        results["items"] = refs[0] if len(refs) == 1 else {"anyOf": refs}  # type: ignore[dict-item]


def vocabulary_slugs() -> dict[str, list[str]]:
    """Each vocabulary's slugs, or none where the database cannot be read.

    The schema is also generated by system checks (drf-spectacular's, under `check --deploy`) and by
    `manage.py spectacular`, which may run before `migrate` or without a database: the schema is then
    the same, less the slug enums, rather than a crash.
    """
    try:
        # A savepoint: inside a caller's transaction, PostgreSQL would refuse every later query after the error.
        with transaction.atomic():
            return {
                path: list(model.objects.order_by("slug").values_list("slug", flat=True))
                for model, path in VOCABULARY_LISTS.items()
            }
    except DatabaseError:
        return {path: [] for path in VOCABULARY_LISTS.values()}


def postprocess_schema(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

    Adds the API's description, the JSON error body on every operation with the statuses its method
    can produce, ETag headers, 304 where a GET honours If-None-Match, and the current vocabulary slugs.
    """
    rate = AnonymousRateThrottle().get_rate()
    limits = f"{rate.replace('/', ' requests per ')} per address" if rate else "no limit in this deployment"
    result.setdefault("info", {})["description"] = API_DESCRIPTION.replace("ANON_LIMIT", limits)
    slugs = vocabulary_slugs()
    _selectable_list_items(result.get("components", {}).get("schemas", {}))
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    has_error_component = "Error" in result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method == "get" and {} not in operation.get("security", [{}]):
                operation["security"].append({})  # every read is public (DjangoModelPermissionsOrAnonReadOnly)
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter["in"] == "query" and (
                    parameter["schema"].get("type") != "array" or parameter.get("explode") is False
                ):
                    # An empty value means "not given", as HTML forms (the search page's) send them.
                    parameter["allowEmptyValue"] = True
                vocabulary = parameter.get("x-vocabulary")
                if vocabulary and slugs[vocabulary]:
                    parameter["schema"]["items"]["enum"] = slugs[vocabulary]
            responses = operation.setdefault("responses", {})
            locations = {parameter["in"] for parameter in parameters}
            if has_error_component:
                for status in METHOD_ERRORS.get(method, []):
                    if method == "get" and (
                        # Any request can be a 400: control characters are refused before any view.
                        status == "404" and not locations & {"query", "path"}
                    ):
                        continue  # no parameter to get wrong
                    entry = responses.setdefault(status, {"content": error, "description": ERROR_DESCRIPTIONS[status]})
                    if status == "429":
                        entry.setdefault("headers", RETRY_AFTER_HEADER)
            for status, response in responses.items():
                if status in ("200", "201") and method in ("get", "post", "put", "patch"):
                    response.setdefault("headers", {}).update(ETAG_HEADER)
            if method == "get" and any(parameter["name"] == "If-None-Match" for parameter in parameters):
                responses.setdefault("304", {"description": "Not modified: your copy (If-None-Match) is current."})
    return result


API_DESCRIPTION = """
Structured registry of stem-cell and cell-therapy trials for neurological disease.

**Reading** is public and anonymous: published and retracted studies only. Lists take the public
search page's parameters (repeat a parameter for "any of": `phase=phase1&phase=phase2`), page with
`page` / `page_size` (at most 1,000) and a total `count`; `next` and `previous` are absent when there
is no such page. `fields=a,b` selects keys. `format=csv` returns **every** matching row (not one page),
streamed, with the JSON keys as columns: lists joined with `|`, `true`/`false`, empty for null.

**Writing** needs `Authorization: Token <key>` (`manage.py api_token issue <username>`) or an admin
session, and the curator roles' permissions: `trials.add_study` to POST, `trials.change_study` to
PUT/PATCH, `trials.delete_study` to DELETE. A study document is saved whole and atomically, validated by
the same rules as the admin and `import_studies`; errors name the field path
(`adverse_events[2].n_affected`). Without `trials.publish_study` (reviewers have it) a write may
neither produce nor change a published or retracted study: 403 `publish_permission_required`.

**Review workflow** (tag `workflow`): `POST /api/v1/studies/{accession}/submit/`, `request-changes/`,
`publish/`, `retract/`, `revision/`, `comments/` and `comments/{id}/resolve/` run the admin's workflow
steps, with the same roles and rules; each answers the study's new state and version. 409 when the
study's state (or an open blocking comment) does not allow the step.

**Conditional requests**: every successful read carries an `ETag` (a study's is
`"<accession>-v<version>"`); send it in `If-None-Match` for a 304, or in `If-Match` on PUT, PATCH and
DELETE and the workflow steps to be refused with 412 if someone changed the study since you read it.

**Errors** are always JSON: `{"error": {"status", "code", "message", "fields"}}`.

**Limits** for anonymous clients: ANON_LIMIT (`API_ANON_RATE`; the default is 120/min); beyond
it, 429 with `Retry-After`. Authenticated clients are not limited. CORS is open for reads.
""".strip()
