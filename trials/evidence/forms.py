"""The evidence views' own parameters, beyond the search's FilterSet: shared by the pages and the API."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trials import choices as c

from .safety import SAFETY_MEASURES


class EvidenceForm(forms.Form):
    """Parameters of the evidence views beyond the search's filters; shared by the pages and the API."""

    organ_class = forms.ChoiceField(label=_("Organ class"), choices=[("", _("All")), *c.OrganClass.choices], required=False)
    measure = forms.ChoiceField(
        label=_("Figure charted"),
        choices=[(measure.key, measure.heading) for measure in SAFETY_MEASURES],
        required=False,
    )
    instrument = forms.SlugField(label=_("Instrument"), required=False)
    window_from = forms.FloatField(label=_("From month"), required=False, min_value=0, max_value=600)
    window_to = forms.FloatField(label=_("To month"), required=False, min_value=0, max_value=600)

    @property
    def window(self) -> tuple[float, float]:
        data = self.cleaned_data
        start = data.get("window_from")
        end = data.get("window_to")
        return (0.0 if start is None else start, 600.0 if end is None else end)
