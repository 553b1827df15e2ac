from django.urls import path

from .views import evidence, feeds, public, versions

app_name = "trials"

urlpatterns = [
    path("", public.home, name="home"),
    path("evidence/safety/", evidence.safety, name="evidence-safety"),
    path("evidence/outcomes/", evidence.outcomes, name="evidence-outcomes"),
    path("evidence/compare/", evidence.compare, name="evidence-compare"),
    path("studies/", public.study_list, name="study-list"),
    path("studies/feed/", feeds.StudySearchFeed(), name="study-feed"),
    path("studies/feed/rss/", feeds.StudySearchRssFeed(), name="study-feed-rss"),
    path("studies/<str:accession>/", public.study_detail, name="study-detail"),
    path("studies/<str:accession>/versions/", versions.study_versions, name="study-versions"),
    path("studies/<str:accession>/versions/compare/", versions.study_version_compare, name="study-version-compare"),
    path("studies/<str:accession>/versions/<int:number>/", versions.study_version_detail, name="study-version"),
]
