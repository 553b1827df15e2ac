"""What a process must have before it serves the site (registry/wsgi.py, registry/asgi.py)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_production_settings() -> None:
    """With DEBUG off, refuse to start without SECRET_KEY and ALLOWED_HOSTS.

    Checked where the site is served rather than in settings, so that management commands that need
    neither (makemigrations, migrate, check) run in any environment; `check --deploy` reports both too.
    """
    if settings.DEBUG:
        return
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not _is_set(name)]
    if missing:
        raise ImproperlyConfigured(f"{' and '.join(missing)} must be set when DEBUG is off (set DEBUG=1 for development).")


def _is_set(name: str) -> bool:
    try:
        return bool(getattr(settings, name))
    except ImproperlyConfigured:  # how Django answers for an empty SECRET_KEY
        return False


_web_process = False


def mark_web_process() -> None:
    """This process serves requests (registry/wsgi.py, registry/asgi.py): its database waits are bounded
    for web requests (statement_timeout, the query watchdog), which management commands are not."""
    global _web_process
    _web_process = True


def is_web_process() -> bool:
    return _web_process
