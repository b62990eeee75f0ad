"""The built-in roles as database rows, so assignments can point at them like at custom ones."""

from __future__ import annotations

from registry.permissions.actions import ACTIONS, BUILTIN_ROLE_DESCRIPTIONS, BUILTIN_ROLES


def sync_builtin_roles(*, using: str = "default") -> None:
    from registry.models import RoleDefinition

    for name, actions in BUILTIN_ROLES.items():
        RoleDefinition.objects.using(using).update_or_create(
            name=name,
            defaults={
                "actions": [a for a in ACTIONS if a in actions],
                "description": BUILTIN_ROLE_DESCRIPTIONS[name],
                "is_builtin": True,
            },
        )
