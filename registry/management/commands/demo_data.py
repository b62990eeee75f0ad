"""``manage.py demo_data``: a demo administrator and a registry for a first look (idempotent)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandParser

from accounts.models import ServicePrincipal, User
from accounts.services import service_principal_create
from registry import services
from registry.models import Registry, RoleAssignment, RoleDefinition
from registry.permissions.assignments import role_assignment_create

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "portcullis-demo"
DEMO_REGISTRY = "localregistry"
DEMO_NAMESPACE = "team-a"
DEMO_SERVICE_PRINCIPAL = "ci-deployer"


class Command(BaseCommand):
    help = "Create the demo administrator and the local registry, if they are missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--registry-url",
            default=os.environ.get("LOCAL_REGISTRY_URL", "http://127.0.0.1:5000"),
        )

    def handle(self, *args: object, **options: object) -> None:
        admin = User.objects.filter(username=DEMO_USERNAME).first()
        if admin is None:
            admin = User.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
            self.stdout.write(f"Created demo administrator {DEMO_USERNAME} / {DEMO_PASSWORD}")
        registry = Registry.objects.filter(name__iexact=DEMO_REGISTRY).first()
        if registry is None:
            registry = services.registry_create(
                actor=admin,
                name=DEMO_REGISTRY,
                login_server=str(options["registry_url"]),
                tier="Standard",
                description="The registry that `make run` starts beside the portal.",
            )
            self.stdout.write(f"Created registry {DEMO_REGISTRY}")
        self._ci_deployer(admin, registry)

    def _ci_deployer(self, admin: User, registry: Registry) -> None:
        """A service principal that pushes to team-a, as a CI pipeline would. It has no secret:
        one is created in its page and shown there once, never here."""
        namespace = registry.namespaces.filter(name=DEMO_NAMESPACE).first()
        if namespace is None:
            namespace = services.namespace_create(
                actor=admin,
                registry=registry,
                name=DEMO_NAMESPACE,
                description="A team's images, pushed by its CI pipeline.",
                owners=[admin],
            )
            self.stdout.write(f"Created namespace {DEMO_NAMESPACE} in {registry.name}")
        principal = ServicePrincipal.objects.filter(name__iexact=DEMO_SERVICE_PRINCIPAL).first()
        if principal is None:
            principal = service_principal_create(
                actor=admin,
                name=DEMO_SERVICE_PRINCIPAL,
                description="Pushes team-a's images from CI. Add a secret to use it.",
            )
            self.stdout.write(f"Created service principal {DEMO_SERVICE_PRINCIPAL}")
        push = RoleDefinition.objects.get(name="AcrPush")
        scope = namespace.scope
        held = RoleAssignment.objects.filter(
            service_principal=principal, role=push, scope__iexact=scope
        )
        if not held.exists():
            role_assignment_create(actor=admin, role=push, scope=scope, principal=principal)
            self.stdout.write(f"Assigned AcrPush on {scope} to {DEMO_SERVICE_PRINCIPAL}")
