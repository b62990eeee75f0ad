"""The permissions engine against the database: the built-in role × scope level × action matrix,
groups, expiry, disabled principals, explanations, visibility, and its query cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Group, GroupMembership, ServicePrincipal
from registry.models import Namespace, RoleAssignment, RoleDefinition
from registry.permissions import ACTIONS, BUILTIN_ROLES, engine, parse_scope
from tests.factories import RegistryFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

LEVELS = {
    "registry": "/registries/prod1",
    "namespace": "/registries/prod1/namespaces/team-a",
    "repository": "/registries/prod1/repositories/team-a/app",
}
TARGETS = [
    "/registries/prod1",
    "/registries/prod1/namespaces/team-a",
    "/registries/prod1/repositories/team-a/app",
    "/registries/prod1/repositories/team-a/backend/api",
    "/registries/prod1/repositories/team-b/app",
    "/registries/prod2/repositories/team-a/app",
]


def assign(role: str, scope: str, **principal) -> RoleAssignment:
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )


def test_the_built_in_roles_are_rows_equal_to_their_definitions():
    rows = {r.name: set(r.actions) for r in RoleDefinition.objects.filter(is_builtin=True)}
    assert rows == {name: set(actions) for name, actions in BUILTIN_ROLES.items()}


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("target", TARGETS)
def test_the_matrix_of_roles_scopes_and_actions(bob, role, level, target):
    assign(role, LEVELS[level], user=bob)
    covered = parse_scope(LEVELS[level]).covers(parse_scope(target))

    granted = engine.effective_actions(bob, target)

    assert granted == (BUILTIN_ROLES[role] if covered else frozenset())
    for action in ACTIONS:
        assert engine.is_allowed(bob, action, target) is (covered and action in BUILTIN_ROLES[role])


def test_a_group_carries_its_assignments_to_its_members_only(bob, django_user_model):
    carol = django_user_model.objects.create_user("carol", is_staff=True)
    platform = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=platform, user=bob)
    assign("AcrPush", LEVELS["namespace"], group=platform)
    target = "/registries/prod1/repositories/team-a/app"

    assert engine.is_allowed(bob, "content/write", target)
    assert not engine.is_allowed(carol, "content/write", target)  # staff, but not in the group

    GroupMembership.objects.filter(group=platform, user=bob).delete()
    assert not engine.is_allowed(bob, "content/write", target)


def test_own_and_group_assignments_add_up(bob):
    platform = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=platform, user=bob)
    assign("AcrPull", LEVELS["registry"], user=bob)
    assign("AcrDelete", LEVELS["repository"], group=platform)
    granted = engine.effective_actions(bob, "/registries/prod1/repositories/team-a/app")
    assert granted == {"content/read", "metadata/read", "content/delete"}


def test_expired_assignments_grant_nothing(bob):
    now = timezone.now()
    assign("AcrPush", LEVELS["registry"], user=bob)
    RoleAssignment.objects.update(expires_at=now - timedelta(seconds=1))
    assert engine.effective_actions(bob, LEVELS["repository"]) == frozenset()
    RoleAssignment.objects.update(expires_at=now + timedelta(days=1))
    assert engine.is_allowed(bob, "content/write", LEVELS["repository"])


def test_service_principals_hold_their_own_assignments_while_enabled():
    ci = ServicePrincipal.objects.create(name="ci")
    assign("AcrPush", LEVELS["namespace"], service_principal=ci)
    assert engine.is_allowed(ci, "content/write", LEVELS["repository"])
    ci.enabled = False
    ci.save()
    assert not engine.is_allowed(ci, "content/write", LEVELS["repository"])


def test_superusers_may_do_everything_and_inactive_users_nothing(django_user_model, bob):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    assert engine.effective_actions(root, "/") == frozenset(ACTIONS)
    assign("Owner", "/", user=bob)
    bob.is_active = False
    assert engine.effective_actions(bob, "/") == frozenset()


def test_registry_names_in_scopes_ignore_case(bob):
    assign("AcrPull", "/registries/Prod1", user=bob)
    assert engine.is_allowed(bob, "content/read", "/registries/prod1/repositories/x")


def test_explanations_name_the_role_principal_and_scope(bob):
    platform = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=platform, user=bob)
    grant = assign("AcrPush", LEVELS["namespace"], group=platform)

    allowed = engine.explain(bob, "content/write", LEVELS["repository"])
    denied = engine.explain(bob, "content/delete", LEVELS["repository"])

    assert allowed.allowed and allowed.via == (grant.pk,)
    assert allowed.explanation == (
        "allowed via AcrPush assigned to group platform at /registries/prod1/namespaces/team-a"
    )
    assert not denied.allowed and denied.via == ()
    assert denied.explanation == (
        "denied: no assignment grants content/delete at /registries/prod1/repositories/team-a/app"
    )


@pytest.mark.parametrize("count", [1, 40])
def test_query_count_does_not_grow_with_assignments(bob, count, django_assert_num_queries):
    platform = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=platform, user=bob)
    for i in range(count):
        assign("AcrPull", f"/registries/prod1/repositories/team-{i}/app", user=bob)
        assign("Reader", f"/registries/prod1/namespaces/team-{i}", group=platform)
    with django_assert_num_queries(1):
        engine.explain(bob, "content/read", "/registries/prod1/repositories/team-0/app")
    # The principal's scopes, then the registries they cover.
    with django_assert_num_queries(2):
        list(engine.visible_registries(bob))


def test_visibility_follows_assignments(bob):
    prod1, prod2 = RegistryFactory(name="prod1"), RegistryFactory(name="prod2")
    RegistryFactory(name="prod3")
    for name in ("team-a/app", "team-a/backend/api", "team-ab/app", "team-b/app"):
        RepositoryFactory(registry=prod1, name=name)
    RepositoryFactory(registry=prod2, name="tools/cli")
    assign("AcrPull", "/registries/prod1/namespaces/team-a", user=bob)
    assign("Reader", "/registries/PROD2", user=bob)

    assert sorted(r.name for r in engine.visible_registries(bob)) == ["prod1", "prod2"]
    assert sorted(r.name for r in engine.visible_repositories(bob, prod1)) == [
        "team-a/app",
        "team-a/backend/api",
    ]
    assert [r.name for r in engine.visible_repositories(bob, prod2)] == ["tools/cli"]

    RoleAssignment.objects.all().delete()
    assert not engine.visible_registries(bob).exists()
    assign("Auditor", "/", user=bob)
    assert engine.visible_registries(bob).count() == 3


def test_a_repository_grant_shows_the_namespaces_above_it_not_one_of_its_name(bob):
    prod1 = RegistryFactory(name="prod1")
    for name in ("team-a", "team-a/app", "team-a/backend", "tools", "team-b"):
        Namespace.objects.create(registry=prod1, name=name)
    assign("AcrPull", "/registries/prod1/repositories/team-a/app", user=bob)
    assign("AcrPull", "/registries/prod1/repositories/tools", user=bob)
    held = engine.grants_of(bob)

    shown = prod1.namespaces.filter(held.name_filter("prod1", namespaces=True))
    # Above a repository, not a namespace that happens to share its name.
    assert sorted(shown.values_list("name", flat=True)) == ["team-a"]
    assert [n.name for n in prod1.namespaces.order_by("name") if held.can_see(n.scope)] == [
        "team-a"
    ]


# Property: the engine agrees with a plain reading of the rules -------------------------------

SCOPE_UNIVERSE = [
    "/",
    "/registries/prod1",
    "/registries/prod2",
    "/registries/prod1/namespaces/team-a",
    "/registries/prod1/namespaces/team-a/backend",
    "/registries/prod1/namespaces/team-ab",
    "/registries/prod1/repositories/team-a/app",
    "/registries/prod1/repositories/team-a/backend/api",
    "/registries/prod1/repositories/team-ab/app",
    "/registries/prod2/repositories/team-a/app",
]

_assignment = st.tuples(
    st.sampled_from(sorted(BUILTIN_ROLES)),
    st.sampled_from(SCOPE_UNIVERSE),
    st.sampled_from(["bob", "platform", "other"]),  # bob himself, his group, someone else
    st.booleans(),  # expired
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    assignments=st.lists(_assignment, max_size=6),
    target=st.sampled_from(SCOPE_UNIVERSE),
    action=st.sampled_from(ACTIONS),
)
def test_the_engine_agrees_with_the_rules_for_any_assignments(
    bob, alice, assignments, target, action
):
    RoleAssignment.objects.all().delete()
    platform, _ = Group.objects.get_or_create(name="platform")
    GroupMembership.objects.get_or_create(group=platform, user=bob)
    now = timezone.now()
    expected = False
    for role, scope, who, expired in assignments:
        principal = {"bob": {"user": bob}, "platform": {"group": platform}}.get(
            who, {"user": alice}
        )
        grant = assign(role, scope, **principal)
        if expired:
            RoleAssignment.objects.filter(pk=grant.pk).update(expires_at=now - timedelta(minutes=1))
        if (
            who != "other"
            and not expired
            and action in BUILTIN_ROLES[role]
            and parse_scope(scope).covers(parse_scope(target))
        ):
            expected = True

    assert engine.is_allowed(bob, action, target) is expected
    assert engine.explain(bob, action, target).allowed is expected
