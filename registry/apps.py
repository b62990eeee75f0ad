from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from accounts.entra.directory import entra_user_signed_in
        from accounts.services import identity_changed
        from registry.entra_audit import record_entra_sign_in
        from registry.identity_audit import record_identity_change
        from registry.webhooks import checks  # noqa: F401 - registers the webhook checks

        post_migrate.connect(_sync_builtin_roles, sender=self)
        # What a principal holds is remembered per process (engine.HELD): a write here is
        # forgotten here at its commit (the database announces it to the other processes).
        from accounts.models import GroupMembership
        from registry.models import RoleAssignment, RoleDefinition

        for model in (RoleAssignment, RoleDefinition, GroupMembership):
            for signal in (post_save, post_delete):
                signal.connect(_forget_held, sender=model, dispatch_uid=f"held.{model.__name__}")
        entra_user_signed_in.connect(record_entra_sign_in, dispatch_uid="registry.entra_audit")
        identity_changed.connect(record_identity_change, dispatch_uid="registry.identity_audit")


def _sync_builtin_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Keep the built-in role rows equal to the code's definitions after every migrate."""
    from registry.permissions.roles import sync_builtin_roles

    sync_builtin_roles(using=using)


def _forget_held(sender: type, **kwargs: Any) -> None:
    from accounts import changes

    changes.forget_on_commit(changes.CREDENTIALS)
