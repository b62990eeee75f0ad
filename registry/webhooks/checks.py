"""System checks for webhook settings (``manage.py check``; ``--deploy`` for production)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def allowed_networks_parse(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    problems = []
    configured = settings.WEBHOOK_ALLOWED_NETWORKS
    if isinstance(configured, str):
        configured = configured.split(",")
    for item in configured:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError as exc:
            problems.append(
                checks.Error(
                    f"WEBHOOK_ALLOWED_NETWORKS holds {item!r}, which is not a network: {exc}.",
                    hint="List CIDRs separated by commas, e.g. 10.20.0.0/16,127.0.0.0/8.",
                    id="registry.E101",
                )
            )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def own_encryption_keys(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if getattr(settings, "FIELD_ENCRYPTION_KEYS", None):
        return []
    return [
        checks.Warning(
            "FIELD_ENCRYPTION_KEYS is not set, so webhook secrets are encrypted with a key "
            "derived from SECRET_KEY.",
            hint="Set FIELD_ENCRYPTION_KEYS to a long random value (docs/webhooks.md), so that "
            "SECRET_KEY can be rotated on its own.",
            id="registry.W101",
        )
    ]
