"""Probes for load balancers and orchestrators.

GET /livez: liveness, the process answers (never the database: restarting workers does not bring a
database back). GET /healthz: readiness, 200 when the app can read the registry, else 503.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from trials.models import Study
from trials.views.errors import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """{"status": "ok", "database": "ok", "studies": N} where N counts public studies.

    Counting with the ORM checks what pages need: the server answers, and the migrated tables are there.
    """
    try:
        studies = Study.objects.public().count()
    except DatabaseError as error:
        logger.error("Health check: database unavailable: %s", error)
        response = JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok", "studies": studies})


@never_cache
@require_safe
def livez(request: HttpRequest) -> JsonResponse:
    """{"status": "ok"}: this process serves requests. Touches nothing else, so a database outage never
    makes an orchestrator kill workers that will serve again as soon as it ends."""
    return JsonResponse({"status": "ok"})
