"""The dashboard: registries with health and size, and the latest activity."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import audit
from tests.factories import RegistryFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_users_without_access_see_an_explanation_not_registries(client, bob):
    RegistryFactory(name="secretreg")
    client.force_login(bob)
    response = client.get(reverse("portal:dashboard"))
    html = response.content.decode()
    # Everyone lands here after signing in, so it explains instead of answering 403.
    assert response.status_code == 200
    assert "does not have access to any registry" in html
    assert "secretreg" not in html


def test_staff_sees_registries_health_counts_and_activity(admin_client, alice):
    healthy = RegistryFactory(
        name="healthy1",
        is_healthy=True,
        health_checked_at=timezone.now(),
        health_detail="API registry/2.0, 3 ms",
    )
    RegistryFactory(name="downreg1", is_healthy=False, health_detail="connection refused")
    TagFactory.create_batch(2, manifest__repository__registry=healthy)
    audit.record(actor=alice, action="registry.create", scope="/registries/healthy1")
    response = admin_client.get(reverse("portal:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "healthy1" in html
    assert "API registry/2.0, 3 ms" in html
    assert "connection refused" in html
    assert "2 repositories" in html
    assert response.context["repository_total"] == 2
    assert response.context["tag_total"] == 2
    assert [r.name for r in response.context["unhealthy"]] == ["downreg1"]
    assert "registry.create" in html
    assert "/registries/healthy1" in html


@pytest.mark.parametrize("count", [3, 30])
def test_dashboard_queries_are_bounded(admin_client, alice, django_assert_max_num_queries, count):
    for registry in RegistryFactory.create_batch(count):
        TagFactory(manifest__repository__registry=registry)
        audit.record(actor=alice, action="registry.create", scope=registry.scope)
    # (6: one is the navigation's count of access requests waiting for a decision.)
    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    assert len(response.context["recent_events"]) == min(count, 15)
