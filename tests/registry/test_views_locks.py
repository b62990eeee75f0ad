"""Editing ACR's locks of a repository or tag in the pages (htmx swaps the Locks panel)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import AuditEvent
from tests.factories import RegistryFactory, RepositoryFactory, TagFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "locks"}
ALL_ON = {"write_enabled": "on", "delete_enabled": "on", "read_enabled": "on", "list_enabled": "on"}


@pytest.fixture
def tag(db):
    registry = RegistryFactory(name="prodacr01")
    repository = RepositoryFactory(registry=registry, name="team-a/app")
    return TagFactory(manifest__repository=repository, name="1.0")


def _url(tag, which):
    path = [tag.repository.registry.name, tag.repository.name]
    if which == "repository":
        return reverse("registry:repository_locks", args=path)
    return reverse("registry:tag_locks", args=[*path, tag.name])


@pytest.mark.parametrize("which", ["repository", "tag"])
def test_unticking_a_lock_turns_it_off_in_place_and_is_audited(admin_client, alice, tag, which):
    data = {**ALL_ON}
    del data["delete_enabled"]

    response = admin_client.post(_url(tag, which), data, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<article id="locks"')
    assert '<input type="checkbox" role="switch" name="delete_enabled">' in html
    assert "locksChanged" in response["HX-Trigger"]
    target = tag.repository if which == "repository" else tag
    target.refresh_from_db()
    assert (target.delete_enabled, target.write_enabled, target.read_enabled) == (False, True, True)
    event = AuditEvent.objects.get(action="locks.update")
    assert event.actor == alice
    assert event.details["locks"] == {"delete_enabled": False}


@pytest.mark.parametrize("which", ["repository", "tag"])
def test_saving_unchanged_locks_writes_no_audit_row(admin_client, tag, which):
    response = admin_client.post(_url(tag, which), ALL_ON)
    assert response.status_code == 302  # without htmx: back to the page, with a message
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize("which", ["repository", "tag"])
def test_users_without_a_role_cannot_change_locks(client, bob, tag, which):
    client.force_login(bob)
    response = client.post(_url(tag, which), {}, **HTMX)
    assert response.status_code == 404
    tag.refresh_from_db()
    tag.repository.refresh_from_db()
    assert tag.write_enabled and tag.repository.write_enabled
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize("which", ["repository", "tag"])
def test_locks_change_only_by_post(admin_client, tag, which):
    assert admin_client.get(_url(tag, which)).status_code == 405


def test_an_unknown_tag_is_a_404(admin_client, tag):
    url = reverse("registry:tag_locks", args=["prodacr01", "team-a/app", "nope"])
    assert admin_client.post(url, ALL_ON).status_code == 404


def test_the_tag_page_shows_its_locks_form(admin_client, tag):
    url = reverse("registry:tag_detail", args=["prodacr01", "team-a/app", "1.0"])
    html = admin_client.get(url).content.decode()
    assert 'id="locks"' in html
    assert _url(tag, "tag") in html
