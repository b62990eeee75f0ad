"""``manage.py entra_invite --object-id OID [--upn alice@contoso.com]``: a user for an Entra
person who has not signed in yet, so roles can be assigned to them now (docs/sso.md)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.entra.directory import entra_user_invite


class Command(BaseCommand):
    help = (
        "Add (or find) the portal user for an Entra ID person by object id, before their first "
        "sign-in, and print its username: assign roles to that username."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--object-id", required=True, help="the person's Entra object id")
        parser.add_argument("--upn", default="", help="their user principal name, if known")

    def handle(self, *args: object, **options: object) -> None:
        try:
            user = entra_user_invite(
                object_id=str(options["object_id"]), upn=str(options["upn"] or "")
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(user.get_username())
