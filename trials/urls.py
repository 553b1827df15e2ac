from django.urls import path

from . import views

app_name = "trials"

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/", views.study_list, name="study-list"),
    path("studies/<str:accession>/", views.study_detail, name="study-detail"),
]
