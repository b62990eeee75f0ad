"""Fixtures of the access-control tests: the world and personas of ``access_support``."""

from __future__ import annotations

import pytest

from accounts.models import Group, GroupMembership
from registry.models import Namespace, Registry, Repository
from tests.factories import UserFactory
from tests.registry.access_support import REGISTRY, REGISTRY_SCOPE, TEAM_A, assign


@pytest.fixture
def world(db):
    # Nothing listens on port 9: nothing here calls the registry.
    registry = Registry.objects.create(name=REGISTRY, login_server="http://127.0.0.1:9")
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=registry, name=name)
        Repository.objects.create(registry=registry, name=f"{name}/app")
    return registry


@pytest.fixture
def carol(world):
    user = UserFactory(username="carol", first_name="Carol", last_name="Shaw")
    assign("Owner", TEAM_A, user=user)
    return user


@pytest.fixture
def dave(world):
    user = UserFactory(username="dave", first_name="Dave", last_name="Cutler")
    assign("Auditor", REGISTRY_SCOPE, user=user)
    return user


@pytest.fixture
def platform(world):
    return Group.objects.create(name="platform", description="The platform team")


@pytest.fixture
def erin(world, platform):
    user = UserFactory(username="erin", first_name="Erin", last_name="Catto")
    GroupMembership.objects.create(group=platform, user=user)
    assign("AcrPush", TEAM_A, group=platform)
    return user
