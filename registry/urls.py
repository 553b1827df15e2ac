from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("trials.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
# Public pages: /studies/ in English, /zh-hans/studies/ in Chinese (the URL carries the language).
urlpatterns += i18n_patterns(path("", include("trials.urls")), prefix_default_language=False)
