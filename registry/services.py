"""Every write in the registry domain, one function per action.

Views, the API, commands and tasks call these; they validate, change the index and the
registry, and write the audit log in one transaction. Registry calls happen before the
database changes they justify, so a registry that is down leaves the index as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.services import machine_secret_create, machine_secret_revoke
from registry import audit
from registry.backend import NotFound, RegistryClient, RegistryError, Unsupported
from registry.models import (
    Manifest,
    Namespace,
    Registry,
    RegistryAdminPassword,
    Repository,
    Tag,
)
from registry.models.index import lock_index

logger = logging.getLogger(__name__)

REGISTRY_FIELDS = ("login_server", "service", "tier", "description")
NAMESPACE_FIELDS = ("description",)


class ActionRefused(Exception):
    """A request the portal understood and will not carry out; the message says why."""


def client_for(registry: Registry) -> RegistryClient:
    """The backend client for a registry (the one place that builds it).

    A registry behind the portal's token server challenges the portal too; the client answers
    with a token the portal signs for itself (``registry.tokens.portal``).
    """
    from django.conf import settings

    from registry.tokens.portal import portal_token_provider

    return RegistryClient(
        registry.login_server,
        timeout=settings.REGISTRY_TIMEOUT,
        token_provider=portal_token_provider(registry),
    )


def _full_clean(instance: Any, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude))


def _enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Queue a background task once the current transaction has committed."""
    from registry import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.enqueue(*args))


# Registries ------------------------------------------------------------------------------


@transaction.atomic
def registry_create(
    *,
    actor: Any,
    name: str,
    login_server: str,
    service: str = "",
    tier: str = "Standard",
    description: str = "",
) -> Registry:
    registry = Registry(
        name=name,
        login_server=login_server.strip().rstrip("/"),
        service=service.strip(),
        tier=tier,
        description=description,
    )
    registry.clean()
    _full_clean(registry)
    registry.save()
    audit.record(
        actor=actor,
        action="registry.create",
        scope=registry.scope,
        login_server=registry.login_server,
        tier=registry.tier,
    )
    _enqueue_on_commit("registry_check_health", registry.pk)
    # A new registry shows what it already stores without anyone running a command.
    _enqueue_on_commit("registry_sync", registry.pk)
    return registry


@transaction.atomic
def registry_sync_request(*, actor: Any, registry: Registry) -> None:
    """Queue a reconciliation of the registry's index (``registry.sync``) for the worker."""
    audit.record(actor=actor, action="registry.sync.request", scope=registry.scope)
    _enqueue_on_commit("registry_sync", registry.pk)


@transaction.atomic
def registry_update(*, actor: Any, registry: Registry, **changes: Any) -> Registry:
    unknown = set(changes) - set(REGISTRY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown registry fields: {', '.join(sorted(unknown))}")
    before = {field: getattr(registry, field) for field in changes}
    for field, value in changes.items():
        setattr(registry, field, value.strip() if isinstance(value, str) else value)
    registry.clean()
    _full_clean(registry)
    registry.save()
    changed = {
        f: {"from": before[f], "to": getattr(registry, f)}
        for f in changes
        if before[f] != getattr(registry, f)
    }
    if changed:
        audit.record(actor=actor, action="registry.update", scope=registry.scope, changes=changed)
        if "login_server" in changed:
            _enqueue_on_commit("registry_check_health", registry.pk)
    return registry


@transaction.atomic
def registry_delete(*, actor: Any, registry: Registry) -> None:
    """Forget a registry: its index rows go, the images in the registry stay untouched."""
    scope = registry.scope
    lock_index(registry.pk)  # its index rows go first, each renewing the stamp
    counts = {"repositories": registry.repositories.count()}
    registry.delete()
    audit.record(actor=actor, action="registry.delete", scope=scope, **counts)


def registry_check_health(*, registry: Registry) -> Registry:
    """Ping the registry and store the result; never raises for a registry that is down."""
    try:
        with client_for(registry) as client:
            result = client.ping()
    except RegistryError as exc:
        registry.is_healthy = False
        registry.health_detail = exc.message[:500]
        logger.info("registry %s is unhealthy: %s", registry.name, exc.message)
    else:
        registry.is_healthy = True
        registry.health_detail = f"API {result.api_version}, {result.latency_ms:.0f} ms"
    registry.health_checked_at = timezone.now()
    Registry.objects.filter(pk=registry.pk).update(
        is_healthy=registry.is_healthy,
        health_detail=registry.health_detail,
        health_checked_at=registry.health_checked_at,
    )
    return registry


# Admin user ------------------------------------------------------------------------------


ADMIN_PASSWORD_NAMES = tuple(RegistryAdminPassword.Name.values)


@transaction.atomic
def admin_user_set_enabled(*, actor: Any, registry: Registry, enabled: bool) -> dict[str, str]:
    """Turn the registry's admin user on or off; returns the passwords made by turning it on.

    Enabling issues two new passwords (``password``, ``password2``), whose plain text exists
    only in the returned mapping. Disabling revokes both, so turning the admin user on again
    never brings an old password back. Setting the state it already has changes nothing and
    returns no passwords.
    """
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    if registry.admin_user_enabled == enabled:
        return {}
    registry.admin_user_enabled = enabled
    registry.save(update_fields=["admin_user_enabled", "updated_at"])
    for current in registry.admin_passwords.filter(revoked_at__isnull=True):
        machine_secret_revoke(record=current)
    passwords = (
        {name: _admin_password_issue(registry, name) for name in ADMIN_PASSWORD_NAMES}
        if enabled
        else {}
    )
    audit.record(
        actor=actor,
        action="registry.adminUser.enable" if enabled else "registry.adminUser.disable",
        scope=registry.scope,
    )
    return passwords


@transaction.atomic
def admin_user_regenerate(*, actor: Any, registry: Registry, name: str) -> str:
    """A new ``password`` or ``password2`` for the enabled admin user; the old one stops working.

    Two passwords let a client move to the new one while the other still works.
    """
    if name not in ADMIN_PASSWORD_NAMES:
        raise ValidationError(
            f"{name!r} is not an admin password name; use {' or '.join(ADMIN_PASSWORD_NAMES)}."
        )
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    if not registry.admin_user_enabled:
        raise ActionRefused(
            f"The admin user of {registry.name} is disabled; enable it to get passwords."
        )
    for current in registry.admin_passwords.filter(name=name, revoked_at__isnull=True):
        machine_secret_revoke(record=current)
    password = _admin_password_issue(registry, name)
    audit.record(
        actor=actor, action="registry.adminUser.regenerate", scope=registry.scope, name=name
    )
    return password


def _admin_password_issue(registry: Registry, name: str) -> str:
    _, password = machine_secret_create(RegistryAdminPassword, registry=registry, name=name)
    return password


# Namespaces ------------------------------------------------------------------------------


@transaction.atomic
def namespace_create(
    *,
    actor: Any,
    registry: Registry,
    name: str,
    description: str = "",
    owners: Iterable[Any] = (),
    approvals_required: int = 1,
    permanent_grants_allowed: bool = False,
) -> Namespace:
    limit = registry.limits.namespaces
    if limit is not None and registry.namespaces.count() >= limit:
        raise ActionRefused(
            f"The {registry.tier} tier allows {limit} namespaces; this registry has them all."
        )
    namespace = Namespace(
        registry=registry,
        name=name.strip(),
        description=description,
        approvals_required=approvals_required,
        permanent_grants_allowed=permanent_grants_allowed,
    )
    _full_clean(namespace)
    namespace.save()
    owners = list(owners)
    namespace.owners.set(owners)
    audit.record(
        actor=actor,
        action="namespace.create",
        scope=namespace.scope,
        owners=sorted(o.get_username() for o in owners),
        # The access-request policy, when it is not the default one.
        **({"approvals_required": approvals_required} if approvals_required != 1 else {}),
        **({"permanent_grants_allowed": True} if permanent_grants_allowed else {}),
    )
    return namespace


@transaction.atomic
def namespace_update(
    *,
    actor: Any,
    namespace: Namespace,
    description: str | None = None,
    owners: Iterable[Any] | None = None,
    approvals_required: int | None = None,
    permanent_grants_allowed: bool | None = None,
) -> Namespace:
    changes: dict[str, Any] = {}
    fields = {
        "description": description,
        "approvals_required": approvals_required,
        "permanent_grants_allowed": permanent_grants_allowed,
    }
    for field, value in fields.items():
        if value is not None and value != getattr(namespace, field):
            changes[field] = {"from": getattr(namespace, field), "to": value}
            setattr(namespace, field, value)
    if changes:
        _full_clean(namespace, exclude=["registry", "owners"])
        namespace.save(update_fields=[*changes, "updated_at"])
    if owners is not None:
        owners = list(owners)
        before = sorted(u.get_username() for u in namespace.owners.all())
        after = sorted(u.get_username() for u in owners)
        if before != after:
            namespace.owners.set(owners)
            changes["owners"] = {"from": before, "to": after}
    if changes:
        audit.record(actor=actor, action="namespace.update", scope=namespace.scope, changes=changes)
    return namespace


@transaction.atomic
def namespace_delete(*, actor: Any, namespace: Namespace) -> None:
    """Remove a namespace; the repositories under its prefix stay."""
    scope = namespace.scope
    namespace.delete()
    audit.record(actor=actor, action="namespace.delete", scope=scope)


# Content ---------------------------------------------------------------------------------


def manifest_delete(*, actor: Any, manifest: Manifest) -> list[str]:
    """Delete a manifest from the registry, then from the index with every tag on it.

    Returns the names of the tags that went with it.
    """
    repository = manifest.repository
    _refuse_locked_delete(repository, manifest.tags.all(), what=f"manifest {manifest.digest}")
    with client_for(repository.registry) as client:
        _delete_in_registry(client, repository.name, manifest.digest)
    with transaction.atomic():
        lock_index(repository.registry_id)
        tags = sorted(manifest.tags.values_list("name", flat=True))
        manifest.delete()
        audit.record(
            actor=actor,
            action="manifest.delete",
            scope=repository.scope,
            digest=manifest.digest,
            tags=tags,
        )
    return tags


def tag_delete(*, actor: Any, tag: Tag) -> None:
    """Untag: remove the tag and keep the manifest. Needs a registry that can delete by tag."""
    repository = tag.repository
    _refuse_locked_delete(repository, [tag], what=f"tag {tag.name!r}")
    try:
        with client_for(repository.registry) as client:
            client.delete_tag(repository.name, tag.name)
    except Unsupported as exc:
        if exc.status_code == 405:
            raise ActionRefused(exc.message) from exc
        others = tag.manifest.tags.exclude(pk=tag.pk).count()
        also = f" and {others} other tag(s)" if others else ""
        raise ActionRefused(
            f"{exc.message} To remove {tag.name!r}, delete its manifest "
            f"{tag.manifest.digest}, which also removes it{also}."
        ) from exc
    with transaction.atomic():
        lock_index(repository.registry_id)
        tag.delete()
        audit.record(
            actor=actor,
            action="tag.delete",
            scope=repository.scope,
            tag=tag.name,
            digest=tag.manifest.digest,
        )


def repository_delete(*, actor: Any, repository: Repository) -> int:
    """Delete every manifest of a repository in the registry, then the repository in the index.

    Manifests go one by one; if the registry fails halfway, what was deleted leaves the index
    and the rest stays, so the index never claims less than the registry holds.
    Returns the number of manifests deleted.
    """
    _refuse_locked_delete(repository, repository.tags.all(), what=f"repository {repository.name}")
    deleted = 0
    # Indexes first: deleting an index leaves its children, which are deleted in turn.
    manifests = sorted(repository.manifests.all(), key=lambda m: (not m.is_index, m.digest))
    with client_for(repository.registry) as client:
        for manifest in manifests:
            try:
                _delete_in_registry(client, repository.name, manifest.digest)
            except RegistryError:
                if deleted:
                    audit.record(
                        actor=actor,
                        action="repository.delete.partial",
                        scope=repository.scope,
                        manifests_deleted=deleted,
                    )
                raise
            with transaction.atomic():
                lock_index(repository.registry_id)
                Manifest.objects.filter(pk=manifest.pk).delete()
            deleted += 1
    with transaction.atomic():
        lock_index(repository.registry_id)
        scope = repository.scope
        repository.delete()
        audit.record(
            actor=actor, action="repository.delete", scope=scope, manifests_deleted=deleted
        )
    return deleted


def _refuse_locked_delete(repository: Repository, tags: Iterable[Tag], *, what: str) -> None:
    """ACR's delete lock: nothing goes while the repository or a tag on it has deletes off."""
    if not repository.delete_enabled:
        raise ActionRefused(
            f"Repository {repository.name} is locked against deletes (delete_enabled is off); "
            f"unlock it before deleting {what}."
        )
    locked = sorted(tag.name for tag in tags if not tag.delete_enabled)
    if locked:
        raise ActionRefused(
            f"Tag(s) {', '.join(locked)} of {repository.name} are locked against deletes "
            f"(delete_enabled is off); unlock them before deleting {what}."
        )


def _delete_in_registry(client: RegistryClient, repository: str, digest: str) -> None:
    """Delete a manifest in the registry; one the registry no longer has is already deleted."""
    try:
        client.delete_manifest(repository, digest)
    except NotFound:
        logger.info("%s@%s was already gone from the registry", repository, digest)


@transaction.atomic
def repository_update_locks(*, actor: Any, repository: Repository, **locks: bool) -> Repository:
    return _update_locks(actor=actor, obj=repository, scope=repository.scope, locks=locks)


@transaction.atomic
def tag_update_locks(*, actor: Any, tag: Tag, **locks: bool) -> Tag:
    return _update_locks(
        actor=actor, obj=tag, scope=tag.repository.scope, locks=locks, tag=tag.name
    )


def _update_locks(*, actor: Any, obj: Any, scope: str, locks: dict[str, bool], **extra: Any) -> Any:
    unknown = set(locks) - set(obj.LOCK_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown lock fields: {', '.join(sorted(unknown))}")
    changes = {k: v for k, v in locks.items() if getattr(obj, k) != v}
    if changes:
        repository = obj if isinstance(obj, Repository) else obj.repository
        lock_index(repository.registry_id)
        for field, value in changes.items():
            setattr(obj, field, value)
        obj.save(update_fields=list(changes))
        audit.record(actor=actor, action="locks.update", scope=scope, locks=changes, **extra)
    return obj
