"""The registry domain's models."""

from registry.models.access import RoleAssignment, RoleDefinition
from registry.models.audit import AuditEvent
from registry.models.index import Manifest, Repository, Tag
from registry.models.registries import Namespace, Registry, Tier

__all__ = [
    "AuditEvent",
    "Manifest",
    "Namespace",
    "Registry",
    "Repository",
    "RoleAssignment",
    "RoleDefinition",
    "Tag",
    "Tier",
]
