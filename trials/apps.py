from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TrialsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "trials"

    def ready(self) -> None:
        from .sqlite_triggers import ensure_sqlite_triggers

        post_migrate.connect(ensure_sqlite_triggers, sender=self, dispatch_uid="trials-sqlite-triggers")
