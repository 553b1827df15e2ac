from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("studies", views.StudyViewSet, basename="study")
# The same prefix: this viewset has detail actions only (studies/<accession>/submit/ ...), no list or detail.
router.register("studies", views.StudyWorkflowViewSet, basename="study-workflow")
router.register(rf"studies/(?P<accession>{views.ACCESSION_REGEX})/versions", views.StudyVersionViewSet, basename="study-version")
router.register("conditions", views.ConditionViewSet, basename="condition")
router.register("cell-types", views.CellTypeViewSet, basename="cell-type")
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("outcomes", views.OutcomeViewSet, basename="outcome")
router.register("adverse-events", views.AdverseEventViewSet, basename="adverse-event")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="root"),
    path("version/", views.ApiVersionView.as_view(), name="version"),
    path("evidence/safety/", views.SafetyEvidenceView.as_view(), name="evidence-safety"),
    path("evidence/outcomes/", views.OutcomeEvidenceView.as_view(), name="evidence-outcomes"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
