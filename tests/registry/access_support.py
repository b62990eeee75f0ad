"""A small world for the access-control tests, and the personas who live in it.

Registry ``prod1`` has namespaces ``team-a`` and ``team-b``, each with an ``app`` repository.

- alice: superuser (from ``tests/conftest.py``);
- bob: signed in, holds nothing (from ``tests/conftest.py``);
- carol: Owner of namespace ``team-a``: manages its access;
- dave: Auditor of the registry: reviews access and reads its audit log;
- erin: AcrPush on ``team-a`` through the group ``platform``, a plain developer.

The fixtures live in ``tests/registry/conftest.py``.
"""

from __future__ import annotations

from registry.models import RoleAssignment, RoleDefinition

REGISTRY = "prod1"
REGISTRY_SCOPE = f"/registries/{REGISTRY}"
TEAM_A = f"{REGISTRY_SCOPE}/namespaces/team-a"
TEAM_B = f"{REGISTRY_SCOPE}/namespaces/team-b"
APP_A = f"{REGISTRY_SCOPE}/repositories/team-a/app"
APP_B = f"{REGISTRY_SCOPE}/repositories/team-b/app"


def assign(role: str, scope: str, **principal) -> RoleAssignment:
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )
