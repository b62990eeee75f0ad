"""REST API: ``/api/v1/users/`` and ``/api/v1/groups/``, for building and reviewing assignments."""

from __future__ import annotations

import pytest

from accounts.models import Group
from tests.factories import UserFactory
from tests.registry.api_support import all_pages, api_url, assert_problem, bearer

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"
GROUPS = "/api/v1/groups/"
OBJECT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_the_routes_are_where_the_design_says():
    assert (api_url("user-list"), api_url("group-list")) == (USERS, GROUPS)


@pytest.mark.parametrize("url", [USERS, GROUPS])
def test_anonymous_callers_must_sign_in(client, url):
    assert_problem(client.get(url), 401)


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 200), ("carol", 200), ("dave", 200), ("erin", 403), ("bob", 403)],
)
@pytest.mark.parametrize("url", [USERS, GROUPS])
def test_those_who_manage_or_review_access_somewhere_may_search(
    client, request, url, persona, status
):
    user = request.getfixturevalue(persona)
    response = client.get(url, **bearer(user))
    if status == 200:
        assert response.status_code == 200
    else:
        problem = assert_problem(response, 403)
        assert "roleAssignments/write or auditLog/read" in problem["detail"]


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("", ["alice", "carol", "lin", "new@example.com"]),
        ("LIN", ["lin"]),  # username, any case
        ("torvalds", ["lin"]),  # last name
        ("example.org", ["lin"]),  # email
        ("new@", ["new@example.com"]),
        ("nobody", []),
    ],
)
def test_users_are_searched_by_username_email_and_name(client, alice, carol, search, found):
    UserFactory(username="lin", first_name="Linus", last_name="Torvalds", email="l@example.org")
    placeholder = UserFactory(username="new@example.com", email="new@example.com")
    placeholder.set_unusable_password()
    placeholder.save()
    client.force_login(alice)
    rows = all_pages(client, f"{USERS}?search={search}&page_size=2")
    assert [row["username"] for row in rows] == found


def test_users_answer_with_their_fields(client, alice, world):
    UserFactory(username="lin", first_name="Linus", last_name="Torvalds", email="l@example.org")
    client.force_login(alice)
    row = all_pages(client, f"{USERS}?search=lin")[0]
    assert row == {
        "id": row["id"],
        "username": "lin",
        "email": "l@example.org",
        "name": "Linus Torvalds",
        "is_active": True,
        "has_signed_in": True,
    }


def test_groups_are_searched_by_name_or_object_id(client, alice, platform):
    Group.objects.create(name="Platform Engineers", object_id=OBJECT_ID)
    Group.objects.create(name="ops")
    client.force_login(alice)

    rows = all_pages(client, f"{GROUPS}?search=platform&page_size=1")
    assert {(row["name"], row["source"]) for row in rows} == {
        ("platform", "local"),
        ("Platform Engineers", "directory"),
    }
    by_id = all_pages(client, f"{GROUPS}?search={OBJECT_ID.upper()}")
    assert [row["object_id"] for row in by_id] == [OBJECT_ID]


def test_searches_that_are_too_long_are_refused(client, alice):
    problem = assert_problem(client.get(f"{USERS}?search={'x' * 300}", **bearer(alice)), 400)
    assert "search" in problem["errors"]


def test_the_lists_cost_the_same_queries_for_many_rows(
    client, alice, django_assert_max_num_queries
):
    for index in range(30):
        UserFactory(username=f"user{index:02d}")
        Group.objects.create(name=f"group{index:02d}")
    client.force_login(alice)
    for url in (USERS, GROUPS):
        with django_assert_max_num_queries(3):
            assert client.get(url).status_code == 200
