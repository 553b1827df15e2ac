from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

ROLES = ("curator", "reviewer", "admin")


class Command(BaseCommand):
    help = "Give a user a role: curator (edits drafts), reviewer (also publishes and retracts) or admin (everything)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=ROLES)
        parser.add_argument("--remove", action="store_true", help="Take the role away instead")
        parser.add_argument("--create", action="store_true", help="Create the user (without a usable password) if missing")

    def handle(self, *args, username: str, role: str, remove: bool, create: bool, **options):
        users = get_user_model()
        try:
            user = users.objects.get(username=username)
        except users.DoesNotExist:
            if not create:
                raise CommandError(f"No user “{username}” (use --create to make one).") from None
            user = users.objects.create_user(username=username)
        if role == "admin":
            user.is_superuser = not remove
        else:
            group = Group.objects.get(name=role)
            (user.groups.remove if remove else user.groups.add)(group)
        # Curators and reviewers work in the admin; staff status follows any remaining role.
        user.is_staff = user.is_superuser or user.groups.filter(name__in=ROLES).exists()
        user.save(update_fields=["is_superuser", "is_staff"])
        roles = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True)) + (
            ["admin"] if user.is_superuser else []
        )
        self.stdout.write(f"{username}: {', '.join(roles) or 'no role'}")
