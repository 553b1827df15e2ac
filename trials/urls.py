from django.urls import path

from . import versions, views

app_name = "trials"

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/", views.study_list, name="study-list"),
    path("studies/<str:accession>/", views.study_detail, name="study-detail"),
    path("studies/<str:accession>/versions/", versions.study_versions, name="study-versions"),
    path("studies/<str:accession>/versions/compare/", versions.study_version_compare, name="study-version-compare"),
    path("studies/<str:accession>/versions/<int:number>/", versions.study_version_detail, name="study-version"),
]
