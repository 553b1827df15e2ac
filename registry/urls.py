from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path

from trials.api.errors import api_not_found
from trials.views.health import healthz, livez

urlpatterns = [
    path("api/v1/", include("trials.api.urls")),
    path("", include("trials.urls_interop")),  # FHIR, TRDS XML, the JSON Lines dump (before the API's 404)
    re_path(r"^api/", api_not_found),  # the API's 404s are JSON too, in DEBUG as in production
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
]
# Public pages: /studies/ in English, /zh-hans/studies/ in Chinese (the URL carries the language).
urlpatterns += i18n_patterns(path("", include("trials.urls")), prefix_default_language=False)

# Errors outside DRF views: the site's own pages in both languages, JSON under /api/ (trials/views/errors.py).
handler400 = "trials.views.errors.bad_request"
handler403 = "trials.views.errors.permission_denied"
handler404 = "trials.views.errors.page_not_found"
handler500 = "trials.views.errors.server_error"
