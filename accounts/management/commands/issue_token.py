"""``manage.py issue_token --user NAME [--name LABEL] [--days N]``: print a new access token."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import PersonalAccessToken, User
from accounts.services import personal_access_token_create

MAX_DAYS = PersonalAccessToken.MAX_LIFETIME.days


class Command(BaseCommand):
    help = "Create a personal access token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of the token's owner")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")
        parser.add_argument(
            "--days",
            type=int,
            default=90,
            help=f"lifetime in days (90 by default, {MAX_DAYS} at most)",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            user = User.objects.get(username=options["user"])
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {options['user']!r}.") from exc
        days = options["days"]
        if not isinstance(days, int) or days < 1 or days > MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        try:
            # Run by an operator on the server: the system issues it, the user owns it.
            issued = personal_access_token_create(
                user=user, name=str(options["name"]), lifetime=timedelta(days=days), actor=None
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(issued.token)
