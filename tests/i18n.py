"""Translation helpers for tests."""

from django.utils import translation


def chinese(msgid: str) -> str:
    """The catalogue's Chinese for `msgid`, asserting there is one: tests check that a page is
    translated without pinning the translator's wording."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    assert text != msgid, f"No Chinese translation for {msgid!r} in locale/zh_Hans"
    return text
