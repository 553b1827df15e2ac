"""How the admin's study page copes with a large record: load and save a draft with N adverse events and
N outcomes (default 300 each), signed in as a curator, through Django's full request cycle.

    DATABASE_URL=postgres://... python -m bench.admin_large_record [--rows 300] [--repeat 3]

It builds the study in the database it is pointed at (a scratch one: it migrates it and leaves the study
there), then times GET of the change page and POST of the form exactly as the browser would send it
back unchanged (every field the page holds). Results go to standard output; bench/README.md keeps them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from html.parser import HTMLParser

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("REGISTRY_CACHE_SECONDS", "0")


class FormFields(HTMLParser):
    """The fields a browser would submit from the page's main form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._selected = False
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file", "image"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ("on" if a.get("type") == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._selected, self._first_option = name, False, None
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests.factories import a_document
    from trials import models as m
    from trials.services.studies import study_create

    for slug, name in (("amyotrophic-lateral-sclerosis", "ALS"),):
        m.Condition.objects.get_or_create(slug=slug, defaults={"name": name})
    m.CellType.objects.get_or_create(slug="umbilical-cord-msc", defaults={"name": "UC-MSC"})
    m.Instrument.objects.get_or_create(slug="alsfrs-r", defaults={"name": "ALSFRS-R", "range_min": 0, "range_max": 48})
    curator, _ = User.objects.get_or_create(username="bench-curator", defaults={"is_staff": True})
    curator.groups.add(Group.objects.get(name="curator"))

    document = a_document()
    document.pop("curation_state")
    document.pop("registry_ids")
    document["adverse_events"] = [
        {"cohort": "UC-MSC", "term": f"Event {i}", "organ_class": "general", "serious": "no", "n_affected": 1, "n_at_risk": 29}
        for i in range(args.rows)
    ]
    document["outcomes"] = [
        {
            "cohort": "UC-MSC",
            "instrument": "alsfrs-r",
            "statistic": "mean",
            "value": 40,
            "timepoint": i + 1,
            "timepoint_unit": "day",
        }
        for i in range(args.rows)
    ]
    study = study_create(document=document, by=curator)
    client = Client(HTTP_HOST="localhost")
    client.force_login(curator)
    url = f"/admin/trials/study/{study.pk}/change/"

    loads, saves, sizes = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        response = client.get(url)
        loads.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.content))
        form = FormFields()
        form.feed(response.content.decode())
        data = [(name, value) for name, value in form.fields if name != "csrfmiddlewaretoken"]
        started = time.perf_counter()
        saved = client.post(url, dict(_multi(data)))
        saves.append(time.perf_counter() - started)
        outcome = "saved" if saved.status_code == 302 else f"refused ({saved.status_code})"
    print(
        f"rows={args.rows} AEs + {args.rows} outcomes, vendor={django.db.connection.vendor}: "
        f"load median {statistics.median(loads):.2f}s ({statistics.median(sizes) / 1e6:.1f} MB, {len(data)} form fields), "
        f"save median {statistics.median(saves):.2f}s, {outcome}, over {args.repeat} runs"
    )


def _multi(pairs):
    """Repeated names (multi-selects) as lists, as the test client posts them."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in out.items()}.items()


if __name__ == "__main__":
    main()
