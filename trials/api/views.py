"""REST API. Minimal module: extended by the API work (issue 4)."""

from rest_framework import generics

from trials.models import Study

from .serializers import StudyDocumentSerializer, document_queryset


class StudyDetail(generics.RetrieveAPIView):
    serializer_class = StudyDocumentSerializer
    lookup_field = "accession"

    def get_queryset(self):
        return document_queryset(Study.objects.public())
