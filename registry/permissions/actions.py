"""Actions (ACR-style) and the built-in roles made of them."""

from __future__ import annotations

from collections.abc import Iterable

REGISTRY_READ = "registry/read"
REGISTRY_WRITE = "registry/write"
REGISTRY_DELETE = "registry/delete"
CONTENT_READ = "content/read"  # pull
CONTENT_WRITE = "content/write"  # push
CONTENT_DELETE = "content/delete"
METADATA_READ = "metadata/read"  # list, show
METADATA_WRITE = "metadata/write"  # locks, untag
WEBHOOKS_READ = "webhooks/read"
WEBHOOKS_WRITE = "webhooks/write"
ROLE_ASSIGNMENTS_WRITE = "roleAssignments/write"  # manage access, approve access requests
AUDIT_LOG_READ = "auditLog/read"

ACTIONS: tuple[str, ...] = (
    REGISTRY_READ,
    REGISTRY_WRITE,
    REGISTRY_DELETE,
    CONTENT_READ,
    CONTENT_WRITE,
    CONTENT_DELETE,
    METADATA_READ,
    METADATA_WRITE,
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    ROLE_ASSIGNMENTS_WRITE,
    AUDIT_LOG_READ,
)

# What each action allows, for the people who pick actions for a custom role.
ACTION_DESCRIPTIONS: dict[str, str] = {
    REGISTRY_READ: "See registries: settings, health, usage, login server.",
    REGISTRY_WRITE: "Add and change registries and namespaces; sync the index.",
    REGISTRY_DELETE: "Remove registries from the portal.",
    CONTENT_READ: "Pull images.",
    CONTENT_WRITE: "Push images.",
    CONTENT_DELETE: "Delete repositories and manifests.",
    METADATA_READ: "List and show repositories, tags and manifests.",
    METADATA_WRITE: "Lock and unlock repositories and tags; untag.",
    WEBHOOKS_READ: "See webhooks and their deliveries.",
    WEBHOOKS_WRITE: "Add, change and remove webhooks; redeliver and ping.",
    ROLE_ASSIGNMENTS_WRITE: "Manage who has access; approve access requests.",
    AUDIT_LOG_READ: "Read the audit log; review who has access.",
}

CONTENT_ACTIONS = frozenset({CONTENT_READ, CONTENT_WRITE, CONTENT_DELETE})
_READ_ALL = frozenset({REGISTRY_READ, METADATA_READ, WEBHOOKS_READ})

BUILTIN_ROLE_DESCRIPTIONS = {
    "Owner": "Everything, including managing access.",
    "Contributor": "Everything except managing access.",
    "Reader": "Read everything and pull images.",
    "AcrPull": "Pull images and see them.",
    "AcrPush": "Pull and push images, and see them.",
    "AcrDelete": "Delete images, and see them.",
    "Auditor": "Read everything including the audit log; no pull.",
}

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "Owner": frozenset(ACTIONS),
    "Contributor": frozenset(ACTIONS) - {ROLE_ASSIGNMENTS_WRITE},
    "Reader": _READ_ALL | {CONTENT_READ},
    "AcrPull": frozenset({CONTENT_READ, METADATA_READ}),
    "AcrPush": frozenset({CONTENT_READ, CONTENT_WRITE, METADATA_READ}),
    "AcrDelete": frozenset({CONTENT_DELETE, METADATA_READ}),
    "Auditor": _READ_ALL | {AUDIT_LOG_READ},
}


def validate_actions(actions: Iterable[str]) -> frozenset[str]:
    """The set of ``actions``, or ValueError naming the ones that are not actions."""
    chosen = frozenset(actions)
    unknown = sorted(chosen - set(ACTIONS))
    if unknown:
        raise ValueError(
            f"Unknown action(s): {', '.join(unknown)}. Actions are: {', '.join(ACTIONS)}."
        )
    return chosen
