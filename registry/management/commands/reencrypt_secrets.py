"""``manage.py reencrypt_secrets``: re-encrypt every stored secret with the first key of
``FIELD_ENCRYPTION_KEYS`` (the middle step of a key rotation; see ``registry.encryption``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry import encryption
from registry.models import Webhook


class Command(BaseCommand):
    help = "Re-encrypt webhook secrets and custom header values with the current key."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = 0
        try:
            with transaction.atomic():
                for webhook in Webhook.objects.select_for_update().only(
                    "pk", "secret_encrypted", "custom_headers_encrypted"
                ):
                    fields = {"secret_encrypted": encryption.reencrypt(webhook.secret_encrypted)}
                    if webhook.custom_headers_encrypted:
                        fields["custom_headers_encrypted"] = encryption.reencrypt(
                            webhook.custom_headers_encrypted
                        )
                    Webhook.objects.filter(pk=webhook.pk).update(**fields)
                    changed += 1
        except encryption.DecryptionError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(f"{changed} webhook(s) re-encrypted with the current key.")
