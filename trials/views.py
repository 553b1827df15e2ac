"""Public pages. Placeholder module: replaced by the public-pages work (issue 3)."""

from django.http import HttpResponse


def home(request):
    return HttpResponse("NeuroCell Registry")


def study_list(request):
    return HttpResponse("")


def study_detail(request, accession):
    return HttpResponse("")
