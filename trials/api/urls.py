from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("studies/<str:accession>/", views.StudyDetail.as_view(), name="study-detail"),
]
