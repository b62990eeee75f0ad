"""``manage.py generate_token_signing_key PATH``: a new ES256 key for the token server.

For key rotation (docs/access-control.md): the new key's certificate (``PATH`` with ``.crt``)
is published in registries' bundles through ``TOKEN_PUBLISHED_CERTIFICATES`` before the portal
signs with it (``TOKEN_SIGNING_KEY_FILE``). Prints the certificate's path and the key id.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.tokens.keys import certificate_path, generate_signing_key


class Command(BaseCommand):
    help = "Create a token signing key (PEM, mode 0600) and its certificate beside it (.crt)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="where to write the private key")

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["path"])).resolve()
        if path.exists() or certificate_path(path).exists():
            raise CommandError(f"{path} or its certificate already exists; pick another path.")
        key = generate_signing_key(path)
        self.stdout.write(f"certificate: {certificate_path(path)}\nkid: {key.kid}")
