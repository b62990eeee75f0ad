"""Service principal secrets: shown once, stored as a digest, several at once, each expiring."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import secrets
from accounts.models import ServicePrincipal, ServicePrincipalSecret
from accounts.services import (
    machine_secret_revoke,
    machine_secret_touch,
    service_principal_secret_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ci(db):
    return ServicePrincipal.objects.create(name="ci")


def test_a_secret_is_shown_once_and_stored_as_its_digest(ci):
    issued = service_principal_secret_create(service_principal=ci, description="github")
    row = ServicePrincipalSecret.objects.get()
    assert issued.secret.startswith("pcl_sps_")
    assert len(issued.secret) >= len("pcl_sps_") + 43  # 256 bits, url-safe base64
    assert row.digest == secrets.digest(issued.secret)
    assert issued.secret not in {row.digest, row.hint, row.description}
    assert row.hint == issued.secret[len("pcl_sps_") :][:6]


def test_the_default_lifetime_is_a_year(ci):
    issued = service_principal_secret_create(service_principal=ci)
    lifetime = issued.record.expires_at - timezone.now()
    assert timedelta(days=364) < lifetime <= timedelta(days=365)


def test_client_id_and_secret_find_the_secret(ci):
    issued = service_principal_secret_create(service_principal=ci)
    found = ServicePrincipalSecret.find(str(ci.client_id), issued.secret)
    assert found == issued.record
    assert found.service_principal == ci
    assert ServicePrincipalSecret.find(str(ci.client_id).upper(), issued.secret) == issued.record


def test_several_secrets_work_side_by_side_for_rotation(ci):
    old = service_principal_secret_create(service_principal=ci)
    new = service_principal_secret_create(service_principal=ci)
    assert ServicePrincipalSecret.find(str(ci.client_id), old.secret) == old.record
    assert ServicePrincipalSecret.find(str(ci.client_id), new.secret) == new.record
    machine_secret_revoke(record=old.record)
    assert ServicePrincipalSecret.find(str(ci.client_id), old.secret) is None
    assert ServicePrincipalSecret.find(str(ci.client_id), new.secret) == new.record


@pytest.mark.parametrize(
    "spoil",
    ["another client id", "expired", "revoked", "disabled", "wrong secret", "a token prefix"],
)
def test_anything_off_finds_nothing(ci, spoil):
    issued = service_principal_secret_create(service_principal=ci)
    client_id, secret = str(ci.client_id), issued.secret
    if spoil == "another client id":
        client_id = str(uuid.uuid4())
    elif spoil == "expired":
        ServicePrincipalSecret.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "revoked":
        machine_secret_revoke(record=issued.record)
    elif spoil == "disabled":
        ServicePrincipal.objects.update(enabled=False)
    elif spoil == "wrong secret":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    else:
        secret = "pcl_pat_" + secret[len("pcl_sps_") :]
    assert ServicePrincipalSecret.find(client_id, secret) is None


def test_use_is_recorded_at_most_once_a_minute(ci, django_assert_num_queries):
    issued = service_principal_secret_create(service_principal=ci)
    with django_assert_num_queries(1):
        machine_secret_touch(record=issued.record)
    first = issued.record.last_used_at
    with django_assert_num_queries(0):
        machine_secret_touch(record=issued.record)
    assert ServicePrincipalSecret.objects.get().last_used_at == first
