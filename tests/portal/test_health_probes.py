"""/healthz says the process is up; /readyz says it can reach its database."""

from unittest import mock

import pytest
from django.db import OperationalError


def test_healthz_answers_without_a_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_unreachable(client):
    with mock.patch("portal.health.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database" in response.json()["detail"]


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
