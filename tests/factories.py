"""factory_boy factories for the domain."""

from __future__ import annotations

import hashlib

import factory
from django.utils import timezone

from accounts.models import User
from registry.models import Manifest, Namespace, Registry, Repository, Tag


def fake_digest(seed: object) -> str:
    return "sha256:" + hashlib.sha256(str(seed).encode()).hexdigest()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password-for-tests-1")


class RegistryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registry

    name = factory.Sequence(lambda n: f"registry{n:03d}")
    login_server = factory.Sequence(lambda n: f"http://127.0.0.1:{15000 + n}")
    tier = "Standard"


class NamespaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Namespace

    registry = factory.SubFactory(RegistryFactory)
    name = factory.Sequence(lambda n: f"team-{n}")


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository

    registry = factory.SubFactory(RegistryFactory)
    name = factory.Sequence(lambda n: f"team-a/app{n}")


class ManifestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manifest

    repository = factory.SubFactory(RepositoryFactory)
    digest = factory.Sequence(fake_digest)
    media_type = Manifest.MediaType.OCI_MANIFEST
    size = 1234
    architecture = "amd64"
    os = "linux"
    created_at = factory.LazyFunction(timezone.now)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    manifest = factory.SubFactory(ManifestFactory)
    repository = factory.SelfAttribute("manifest.repository")
    name = factory.Sequence(lambda n: f"v{n}")
    updated_at = factory.LazyFunction(timezone.now)
