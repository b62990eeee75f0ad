"""REST API: the OpenAPI schema (``/api/schema/``) and Swagger UI (``/api/docs/``)."""

import json
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/v1/registries/": {"get", "post"},
    "/api/v1/registries/{registry}/": {"get", "patch", "delete"},
    "/api/v1/registries/{registry}/namespaces/": {"get", "post"},
    "/api/v1/registries/{registry}/namespaces/{namespace}/": {"get", "patch", "delete"},
    "/api/v1/registries/{registry}/repositories/": {"get"},
    "/api/v1/registries/{registry}/events/": {"get"},
    "/api/v1/registries/{registry}/admin-user/": {"get", "put"},
    "/api/v1/registries/{registry}/admin-user/regenerate/": {"post"},
    "/api/v1/registries/{registry}/repositories/{repository}/": {"get", "patch", "delete"},
    "/api/v1/registries/{registry}/repositories/{repository}/_tags/": {"get"},
    "/api/v1/registries/{registry}/repositories/{repository}/_tags/{tag}/": {
        "get",
        "patch",
        "delete",
    },
    "/api/v1/registries/{registry}/repositories/{repository}/_manifests/": {"get"},
    "/api/v1/registries/{registry}/repositories/{repository}/_manifests/{digest}/": {
        "get",
        "delete",
    },
    "/api/v1/service-principals/": {"get", "post"},
    "/api/v1/service-principals/{id}/": {"get", "patch", "delete"},
    "/api/v1/service-principals/{id}/secrets/": {"post"},
    "/api/v1/service-principals/{id}/secrets/{secret}/": {"delete"},
    "/api/v1/tokens/": {"get", "post"},
    "/api/v1/tokens/{id}/": {"delete"},
    "/api/v1/role-definitions/": {"get", "post"},
    "/api/v1/role-definitions/{name}/": {"get", "delete"},
    "/api/v1/role-assignments/": {"get", "post"},
    "/api/v1/role-assignments/{id}/": {"get", "delete"},
    "/api/v1/check-access/": {"get"},
    "/api/v1/users/": {"get"},
    "/api/v1/groups/": {"get"},
    "/api/v1/audit-events/": {"get"},
    "/api/v1/registries/{registry}/webhooks/": {"get", "post"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/": {"get", "patch", "delete"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/ping/": {"post"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/secret/": {"post"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/deliveries/": {"get"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/deliveries/redeliver/": {"post"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/deliveries/{delivery}/": {"get"},
    "/api/v1/registries/{registry}/webhooks/{webhook}/deliveries/{delivery}/redeliver/": {"post"},
    "/api/v1/access-requests/": {"get", "post"},
    "/api/v1/access-requests/{id}/": {"get"},
    "/api/v1/access-requests/{id}/approve/": {"post"},
    "/api/v1/access-requests/{id}/deny/": {"post"},
    "/api/v1/access-requests/{id}/cancel/": {"post"},
    "/api/v1/access-requests/{id}/extend/": {"post"},
}


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any warning (an untyped field, an unknown authenticator) into an error.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    schema = yaml.safe_load((tmp_path / "schema.yml").read_text())
    assert schema["openapi"].startswith("3.")


def test_the_schema_is_served_as_yaml_and_json_to_anyone(client):
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(as_yaml.content)
    validate_schema(schema)

    as_json = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 200
    assert json.loads(as_json.content) == schema


def test_the_schema_describes_every_endpoint_and_its_methods(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = {
        path: {method for method in operations if method != "parameters"}
        for path, operations in schema["paths"].items()
    }
    assert paths == ENDPOINTS


def test_the_schema_names_the_promised_fields(client):
    components = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]

    def fields(name):
        return set(components[name]["properties"])

    assert fields("Registry") >= {"name", "login_server", "service", "tier"}
    assert fields("Namespace") >= {"name", "description", "owners"}
    assert fields("Repository") >= {
        "name",
        "tag_count",
        "manifest_count",
        "write_enabled",
        "delete_enabled",
        "read_enabled",
        "list_enabled",
    }
    assert fields("Tag") >= {"name", "digest", "created", "updated", "write_enabled"}
    assert fields("Manifest") >= {
        "digest",
        "media_type",
        "size",
        "platforms",
        "tags",
        "last_pulled",
    }
    assert fields("Problem") >= {"type", "title", "status", "detail", "errors"}
    assert fields("ServicePrincipal") >= {"name", "client_id", "enabled"}
    assert fields("SecretCreated") >= {"id", "secret", "expires_at"}
    assert fields("TokenCreated") >= {"id", "token", "expires_at"}
    promised = {"role", "scope", "principal_type", "principal", "expires_at"}
    assert fields("RoleAssignment") >= promised
    assert fields("RoleAssignmentCreateRequest") >= promised
    assert fields("CheckAccess") >= {"allowed", "explanation", "via"}
    assert fields("RoleDefinition") >= {"name", "description", "actions", "is_builtin"}
    webhook = {"name", "service_uri", "actions", "scope", "custom_headers", "status"}
    assert fields("Webhook") >= webhook
    assert fields("WebhookCreated") >= webhook | {"secret"}
    assert fields("Delivery") >= {"id", "event_id", "action", "status", "attempts"}
    assert "response_status" in fields("Delivery")


def test_operations_document_their_problems_and_every_way_to_authenticate(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    delete = schema["paths"][
        "/api/v1/registries/{registry}/repositories/{repository}/_manifests/{digest}/"
    ]["delete"]
    assert {"204", "401", "403", "404", "409", "503"} <= set(delete["responses"])
    assert "application/problem+json" in delete["responses"]["503"]["content"]
    assert {next(iter(s)) for s in delete["security"]} == {
        "personalAccessToken",
        "servicePrincipal",
        "cookieAuth",
    }
    assert schema["components"]["securitySchemes"]["personalAccessToken"]["scheme"] == "bearer"
    assert schema["components"]["securitySchemes"]["servicePrincipal"]["scheme"] == "basic"


def test_swagger_ui_is_served_from_local_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert all(a.startswith("/static/") for a in assets), assets
    # No CDN, no other host at all.
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", html)
    assert "/api/schema/" in html
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content if served.streaming else [served.content])
