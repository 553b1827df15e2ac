"""Atom and RSS feeds of newly published and updated studies, for any search.

`/studies/feed/?<the search's own parameters>` (Atom) and `/studies/feed/rss/?…` follow the studies the
same search selects (the one StudyFilterSet); each published version is an entry, saying what changed
since the version before it (trials.documents.diff), in the page's language (`/zh-hans/studies/feed/`).
A fixed number of queries: the matching versions, then the versions before them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from trials import models as m
from trials import pages
from trials.documents import document_changes
from trials.documents.words import Words
from trials.filters import StudyFilterSet

# Entries per feed: readers poll often, so the newest versions are enough.
FEED_SIZE = 50
# Changes listed per entry; the compare page, which each entry links to, has them all.
CHANGES_SHOWN = 25


class StudySearchFeed(Feed):
    feed_type: type[SyndicationFeed] = Atom1Feed

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        filterset = StudyFilterSet(request.GET, queryset=m.Study.objects.public())
        if not filterset.is_valid():
            # The same messages the search page shows next to its fields, named by field.
            lines = [f"{field}: {' '.join(errors)}" for field, errors in filterset.form.errors.items()]
            return HttpResponseBadRequest("\n".join(lines), content_type="text/plain; charset=utf-8")
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request: HttpRequest, *args, **kwargs) -> dict:
        filterset = StudyFilterSet(request.GET, queryset=m.Study.objects.public())
        filterset.is_valid()
        pairs = [pair for pair in pages.canonical_pairs(request.GET) if pair[0] not in pages.PAGING_PARAMETERS]
        about = ""
        q = filterset.form.cleaned_data.get("q")
        if q:
            expansion = filterset.search_expansion(q)
            about = expansion.label() if expansion.groups else q
        return {"filterset": filterset, "pairs": pairs, "about": about}

    def title(self, obj: dict) -> str:
        if obj["about"]:
            return _("NeuroCell Registry: new and updated studies about %(about)s") % {"about": obj["about"]}
        if obj["pairs"]:
            return _("NeuroCell Registry: new and updated studies in a search")
        return _("NeuroCell Registry: new and updated studies")

    def link(self, obj: dict) -> str:
        query = urlencode(obj["pairs"])
        return reverse("trials:study-list") + (f"?{query}" if query else "")

    def description(self, obj: dict) -> str:
        return _("Each study's newly published versions, with what changed since the version before.")

    def items(self, obj: dict) -> list[m.StudyVersion]:
        studies = obj["filterset"].qs.order_by().values("pk")
        versions = list(
            m.StudyVersion.objects.filter(study__in=studies)
            .select_related("study")
            .only("pk", "number", "document", "published_at", "note", "study__accession", "study__title", "study__title_zh")
            .order_by("-published_at", "-pk")[:FEED_SIZE]
        )
        wanted = Q(pk__in=[])
        for version in versions:
            if version.number > 1:
                wanted |= Q(study_id=version.study_id, number=version.number - 1)
        previous = {
            (row.study_id, row.number): row.document
            for row in m.StudyVersion.objects.filter(wanted).only("study_id", "number", "document")
        }
        for version in versions:
            version.previous_document = previous.get((version.study_id, version.number - 1))  # type: ignore[attr-defined]
        # One set of vocabulary names for every entry's changes: each vocabulary is read once per feed. Kept
        # on the items, not on this Feed, which every request shares.
        words = Words(*(version.document for version in versions), *previous.values())
        for version in versions:
            version.words = words  # type: ignore[attr-defined]
        return versions

    def item_title(self, item: m.StudyVersion) -> str:
        return f"{item.study.accession} · {item.study.tr('title')} ({_('version %(number)s') % {'number': item.number}})"

    def item_link(self, item: m.StudyVersion) -> str:
        return reverse("trials:study-version", kwargs={"accession": item.study.accession, "number": item.number})

    def item_guid(self, item: m.StudyVersion) -> str:
        return f"{item.study.accession}/v{item.number}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: m.StudyVersion):
        return item.published_at

    def item_updateddate(self, item: m.StudyVersion):
        return item.published_at

    def item_categories(self, item: m.StudyVersion) -> list[str]:
        return [_("New study") if item.number == 1 else _("Updated study")]

    def item_description(self, item: m.StudyVersion) -> str:
        """What changed, as the compare page words it: “section · row: field old → new”."""
        previous = item.previous_document  # type: ignore[attr-defined]
        note = format_html("<p>{}</p>", item.note) if item.note else ""
        if item.number == 1 or previous is None:
            return format_html("<p>{}</p>{}", _("First published in the registry."), note)
        changes = document_changes(previous, item.document, item.words)  # type: ignore[attr-defined]
        if not changes:
            return format_html("<p>{}</p>{}", _("Republished without changes to its content."), note)
        lines = []
        for change in changes[:CHANGES_SHOWN]:
            if change.change == "changed":
                details = "; ".join(f"{f.label}: {f.old_text or '—'} → {f.new_text or '—'}" for f in change.fields)
            else:
                details = _("added") if change.change == "added" else _("removed")
            lines.append((change.section_label, change.label, details))
        more = len(changes) - CHANGES_SHOWN
        tail = format_html("<p>{}</p>", _("and %(count)s more changes") % {"count": more}) if more > 0 else ""
        items = format_html_join("", "<li>{} · {}: {}</li>", lines)
        heading = _("Changes since version %(number)s:") % {"number": item.number - 1}
        return format_html("{}<p>{}</p><ul>{}</ul>{}", note, heading, items, tail)


class StudySearchRssFeed(StudySearchFeed):
    feed_type = Rss201rev2Feed


def feed_urls(request: HttpRequest, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The search page's feed links, with the search's own parameters."""
    query = urlencode([pair for pair in pairs if pair[0] not in pages.PAGING_PARAMETERS and pair[0] != "ordering"])
    suffix = f"?{query}" if query else ""
    return {"atom": reverse("trials:study-feed") + suffix, "rss": reverse("trials:study-feed-rss") + suffix}
