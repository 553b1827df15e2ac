"""What a backup holds beyond the study documents: published versions, the review trail, the change log.

Versions, review comments and workflow steps are restored by `import_studies`; the field-level change log
is exported as a readable record (the database dump, pg_dump or the SQLite file, is what restores it
as live audit history).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.dateparse import parse_datetime

from trials.documents import DOCUMENT_FORMAT

from . import models as m
from .changelog import study_history


def _username(user) -> str | None:
    return user.get_username() if user else None


def export_records(studies) -> dict[str, dict]:
    records = {}
    for study in studies.prefetch_related(
        "versions__published_by", "review_comments__author", "review_comments__resolved_by", "transitions__by"
    ):
        records[study.accession] = {
            # The edit counter ETags carry: restored, so that a client's cached tag never matches another state.
            "edit_count": study.edit_count,
            "versions": [
                {
                    "number": v.number,
                    "published_at": v.published_at.isoformat(),
                    "published_by": _username(v.published_by),
                    "note": v.note,
                    "document": v.document,
                }
                for v in study.versions.all()
            ],
            "review_comments": [
                {
                    "author": _username(c.author),
                    "text": c.text,
                    "blocking": c.blocking,
                    "created_at": c.created_at.isoformat(),
                    "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
                    "resolved_by": _username(c.resolved_by),
                }
                for c in study.review_comments.all()
            ],
            "transitions": [
                {
                    "action": t.action,
                    "from_state": t.from_state,
                    "to_state": t.to_state,
                    "by": _username(t.by),
                    "at": t.at.isoformat(),
                    "note": t.note,
                }
                for t in study.transitions.all()
            ],
            "change_log": [
                {"at": c.at.isoformat(), "user": c.user, "model": c.model, "object": c.label, "action": c.action,
                 "fields": [{"field": name, "before": _plain(old), "after": _plain(new)} for name, old, new in c.fields]}
                for c in study_history(study)
            ],
        }  # fmt: skip
    return records


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class _Users:
    """Users named in a backup; a missing one is recreated inactive, so the trail keeps its names."""

    def __init__(self) -> None:
        self.cache: dict[str, object] = {}

    def get(self, username: str | None):
        if not username:
            return None
        if username not in self.cache:
            model = get_user_model()
            user = model.objects.filter(username=username).first()
            if user is None:
                user = model(username=username, is_active=False)
                user.set_unusable_password()
                user.save()
            self.cache[username] = user
        return self.cache[username]


def _when(value: str | None) -> dt.datetime | None:
    return parse_datetime(value) if value else None


def _at(value: str) -> dt.datetime:
    """A timestamp a backup must have (when a version was published, a comment written, a step taken)."""
    when = _when(value)
    if when is None:
        raise ValueError(f"Not a timestamp: {value!r}")
    return when


@transaction.atomic
def import_records(records: dict[str, dict]) -> int:
    """Restore versions, comments and steps that are not there yet; returns how many rows were added."""
    users = _Users()
    added = 0
    studies = {s.accession: s for s in m.Study.objects.records().filter(accession__in=list(records))}
    for accession, record in records.items():
        study = studies.get(accession)
        if study is None:
            continue
        numbers = set(study.versions.values_list("number", flat=True))
        for version in record.get("versions", []):
            if version["number"] not in numbers:
                m.StudyVersion.objects.create(
                    study=study, number=version["number"], document=version["document"], note=version.get("note", ""),
                    published_at=_at(version["published_at"]), published_by=users.get(version.get("published_by")),
                )  # fmt: skip
                added += 1
        seen = {(c.created_at, c.text) for c in study.review_comments.all()}
        for comment in record.get("review_comments", []):
            if (_when(comment["created_at"]), comment["text"]) not in seen:
                m.ReviewComment.objects.create(
                    study=study, author=users.get(comment["author"]), text=comment["text"], blocking=comment["blocking"],
                    created_at=_at(comment["created_at"]), resolved_at=_when(comment.get("resolved_at")),
                    resolved_by=users.get(comment.get("resolved_by")),
                )  # fmt: skip
                added += 1
        steps = {(t.at, t.action) for t in study.transitions.all()}
        for step in record.get("transitions", []):
            if (_when(step["at"]), step["action"]) not in steps:
                m.StudyTransition.objects.create(
                    study=study, action=step["action"], from_state=step["from_state"], to_state=step["to_state"],
                    by=users.get(step.get("by")), at=_at(step["at"]), note=step.get("note", ""),
                )  # fmt: skip
                added += 1
    return added


def restore_server_owned(study: m.Study, document: dict, record: dict, file_format: str = DOCUMENT_FORMAT) -> None:
    """A study created from a backup keeps its edit counter and last-updated time, so that a restored
    registry answers as before instead of "updated today". An existing study changed by an import is an
    edit, counted as usual. (Format 1 files carried the edit counter as the document's `version`.)"""
    restored: dict = {}
    edit_count = record.get("edit_count")
    if edit_count is None and file_format == "neurocell-registry/1":
        edit_count = document.get("version")
    if isinstance(edit_count, int) and not isinstance(edit_count, bool) and edit_count > 1:
        restored["edit_count"] = edit_count
    updated_at = parse_datetime(document["updated_at"]) if isinstance(document.get("updated_at"), str) else None
    if updated_at is not None:
        restored["updated_at"] = updated_at
    if restored:
        m.Study.objects.filter(pk=study.pk).update(**restored)
