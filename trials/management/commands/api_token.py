from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Issue or revoke a user's API token. `issue` prints the token alone on standard output (creating it "
        "if needed; --rotate replaces it), so that TOKEN=$(manage.py api_token issue alice) works. The token "
        "acts with the user's permissions: give integrators their own user in the right group."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["issue", "revoke"])
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="issue: replace an existing token with a new one")

    def handle(self, *args, action: str, username: str, rotate: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user “{username}”.")
        if action == "revoke":
            deleted, _ = Token.objects.filter(user=user).delete()
            self.stderr.write(f"Revoked the API token of “{username}”." if deleted else f"“{username}” had no API token.")
            return
        if not user.is_active:
            # TokenAuthentication refuses inactive users: a token would look valid and fail every request.
            raise CommandError(f"“{username}” is inactive; activate the account before issuing a token.")
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        self.stderr.write(f"{'Issued a new' if created else 'Existing'} API token for “{username}”:")
        self.stdout.write(token.key)
