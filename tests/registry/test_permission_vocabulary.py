"""The permission model's pure parts: actions and built-in roles, scopes, token scopes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.permissions import ACTIONS, BUILTIN_ROLES, ROOT, Scope, parse_scope, validate_actions
from registry.permissions.docker import parse_token_scope

# Roles ---------------------------------------------------------------------------------------

ROLE_MATRIX = {
    # role: actions it grants, spelled out (DESIGN.md rule 4)
    "Owner": set(ACTIONS),
    "Contributor": set(ACTIONS) - {"roleAssignments/write"},
    "Reader": {"registry/read", "metadata/read", "webhooks/read", "content/read"},
    "AcrPull": {"content/read", "metadata/read"},
    "AcrPush": {"content/read", "content/write", "metadata/read"},
    "AcrDelete": {"content/delete", "metadata/read"},
    "Auditor": {"registry/read", "metadata/read", "webhooks/read", "auditLog/read"},
}


@pytest.mark.parametrize("role", list(ROLE_MATRIX))
@pytest.mark.parametrize("action", ACTIONS)
def test_built_in_roles_grant_exactly_their_actions(role, action):
    assert (action in BUILTIN_ROLES[role]) == (action in ROLE_MATRIX[role])


def test_there_are_twelve_actions_and_seven_built_in_roles():
    assert len(set(ACTIONS)) == 12
    assert set(BUILTIN_ROLES) == set(ROLE_MATRIX)


def test_custom_roles_take_known_actions_only():
    assert validate_actions(["content/read", "content/read"]) == {"content/read"}
    with pytest.raises(ValueError, match="content/pull"):
        validate_actions(["content/read", "content/pull"])


# Scopes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/", ROOT),
        ("/registries/prod1", Scope("registry", "prod1")),
        ("/registries/prod1/namespaces/team-a", Scope("namespace", "prod1", "team-a")),
        ("/registries/prod1/namespaces/team-a/be", Scope("namespace", "prod1", "team-a/be")),
        ("/registries/prod1/repositories/team-a/app", Scope("repository", "prod1", "team-a/app")),
    ],
)
def test_scopes_parse_and_print_back(text, expected):
    assert parse_scope(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/registries",
        "/registries/",
        "/registries/ab",  # too short for a registry name
        "/registries/prod1/",
        "/registries/prod1/tags/x",
        "/registries/prod1/repositories/",
        "/registries/prod1/repositories/Team-A",
        "/registries/prod1/namespaces/team-a/",
        "registries/prod1",
    ],
)
def test_malformed_scopes_are_refused_with_a_reason(text):
    with pytest.raises(ValueError, match=r"\S"):
        parse_scope(text)


def _s(text: str) -> Scope:
    return parse_scope(text)


@pytest.mark.parametrize(
    ("granting", "target", "covered"),
    [
        ("/", "/registries/prod1/repositories/a/b", True),
        ("/registries/prod1", "/registries/PROD1/repositories/a", True),  # names ignore case
        ("/registries/prod1", "/registries/prod2", False),
        ("/registries/prod1", "/", False),
        ("/registries/prod1/namespaces/team-a", "/registries/prod1/repositories/team-a/app", True),
        ("/registries/prod1/namespaces/team-a", "/registries/prod1/namespaces/team-a/be", True),
        ("/registries/prod1/namespaces/team-a", "/registries/prod1/repositories/team-ab/x", False),
        ("/registries/prod1/namespaces/team-a", "/registries/prod1/repositories/team-a", False),
        ("/registries/prod1/namespaces/team-a", "/registries/prod1", False),
        ("/registries/prod1/namespaces/team-a/be", "/registries/prod1/namespaces/team-a", False),
        ("/registries/prod1/repositories/a/b", "/registries/prod1/repositories/a/b", True),
        ("/registries/prod1/repositories/a", "/registries/prod1/repositories/a/b", False),
    ],
)
def test_what_a_scope_covers(granting, target, covered):
    assert _s(granting).covers(_s(target)) is covered


def test_the_ancestors_of_a_nested_repository():
    scope = _s("/registries/prod1/repositories/team-a/backend/api")
    assert [str(s) for s in scope.ancestors()] == [
        "/",
        "/registries/prod1",
        "/registries/prod1/namespaces/team-a",
        "/registries/prod1/namespaces/team-a/backend",
        "/registries/prod1/repositories/team-a/backend/api",
    ]


_component = st.from_regex(r"[a-z0-9]{1,3}(?:[._-][a-z0-9]{1,3})?", fullmatch=True)
_names = st.lists(_component, min_size=1, max_size=4).map("/".join)
_scopes = st.one_of(
    st.just(ROOT),
    st.sampled_from(["prod1", "prod2"]).map(lambda r: Scope("registry", r)),
    st.tuples(st.sampled_from(["prod1", "prod2"]), _names).map(lambda t: Scope("namespace", *t)),
    st.tuples(st.sampled_from(["prod1", "prod2"]), _names).map(lambda t: Scope("repository", *t)),
)


@given(_scopes, _scopes)
def test_a_scope_covers_another_exactly_when_it_is_among_its_ancestors(a, b):
    assert a.covers(b) == (a in b.ancestors())


@given(_scopes)
def test_every_scope_prints_to_a_string_that_parses_back(scope):
    assert parse_scope(str(scope)) == scope
    assert scope.covers(scope)


# Token scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("repository:team-a/app:pull", {"pull": "content/read"}),
        ("repository:team-a/app:pull,push", {"pull": "content/read", "push": "content/write"}),
        (
            "repository:team-a/app:*",
            {"pull": "content/read", "push": "content/write", "delete": "content/delete"},
        ),
        ("repository:team-a/app:delete", {"delete": "content/delete"}),
        ("repository(plugin):team-a/app:pull", {"pull": "content/read"}),
        ("repository:team-a/app:fly", {}),
        ("repository:team-a/app:", {}),
        ("registry:catalog:*", {"*": "metadata/read"}),
        ("registry:catalog:pull", {}),
        ("spaceship:x:pull", {}),
    ],
)
def test_token_scopes_map_to_portal_actions(text, needs):
    assert parse_token_scope(text).needs() == needs


def test_the_name_is_between_the_first_and_the_last_colon():
    scope = parse_token_scope("repository:host:5000/team-a/app:pull,pull,push")
    assert (scope.type, scope.name, scope.actions) == (
        "repository",
        "host:5000/team-a/app",
        ("pull", "push"),
    )
    assert str(scope) == "repository:host:5000/team-a/app:pull,push"


@pytest.mark.parametrize(
    "text", ["", "repository", "repository:app", ":app:pull", "repository::pull"]
)
def test_malformed_token_scopes_are_refused(text):
    with pytest.raises(ValueError, match="not a scope"):
        parse_token_scope(text)
