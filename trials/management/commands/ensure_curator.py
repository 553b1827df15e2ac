import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local curator account used by `make run` (once), and say how to sign in."

    def handle(self, *args, **options):
        username = os.environ.get("CURATOR_USERNAME", "curator")
        password = os.environ.get("CURATOR_PASSWORD", "curator-local-only")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
        if created:
            user.set_password(password)
            user.save()
            self.stdout.write(f"Created the local curator account “{username}”.")
        self.stdout.write(
            f"Sign in to the curator admin at http://127.0.0.1:{os.environ.get('PORT', '8000')}/admin/ "
            f"as “{username}”" + (f" with password “{password}”." if created else " (password unchanged).")
        )
