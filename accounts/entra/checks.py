"""System checks: a half-done or too-open Entra ID configuration stops the portal at start."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Warning, register

from accounts.entra.config import entra_config


@register()
def check_entra_settings(app_configs: Any = None, **kwargs: Any) -> list[Warning | Error]:
    config = entra_config()
    given = [config.tenant_id, config.client_id, config.client_secret]
    if not any(given):
        return []  # single sign-on is simply off
    if not all(given):
        return [
            Warning(
                "Single sign-on with Entra ID is off: " + config.problem,
                hint="Set all three (docs/sso.md), or none.",
                id="accounts.W001",
            )
        ]
    if config.is_multi_tenant and not config.allow_multi_tenant:
        return [
            Error(
                config.problem,
                hint="ENTRA_TENANT_ID should be your directory's tenant id (a GUID).",
                id="accounts.E001",
            )
        ]
    if config.problem:
        return [Error(config.problem, hint="See docs/sso.md.", id="accounts.E002")]
    return []
