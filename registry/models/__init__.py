"""The registry domain's models."""

from registry.models.access import RoleAssignment, RoleDefinition
from registry.models.admin_user import RegistryAdminPassword
from registry.models.audit import AuditEvent
from registry.models.events import EventsSecret, RegistryEvent
from registry.models.index import IndexStamp, Manifest, Repository, Tag
from registry.models.registries import Namespace, Registry, Tier
from registry.models.requests import AccessRequest, AccessRequestApproval
from registry.models.webhooks import DeliveryAttempt, Webhook, WebhookDelivery

__all__ = [
    "AccessRequest",
    "AccessRequestApproval",
    "AuditEvent",
    "DeliveryAttempt",
    "EventsSecret",
    "IndexStamp",
    "Manifest",
    "Namespace",
    "Registry",
    "RegistryAdminPassword",
    "RegistryEvent",
    "Repository",
    "RoleAssignment",
    "RoleDefinition",
    "Tag",
    "Tier",
    "Webhook",
    "WebhookDelivery",
]
