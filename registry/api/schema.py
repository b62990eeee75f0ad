"""OpenAPI pieces: the token scheme, the documented problem responses, path parameters.

Imported by ``registry.api.views``, which registers the authentication extension with
drf-spectacular before any schema is generated.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from registry.api.errors import PROBLEM_CONTENT_TYPE
from registry.api.serializers import ProblemSerializer

PROBLEM_DESCRIPTIONS = {
    400: "Invalid input: a malformed name in the path, a bad query parameter or body field.",
    401: "Not signed in: no session, or a missing, invalid, expired or revoked token.",
    403: "Signed in, but not allowed to do this.",
    404: "No such registry, namespace, repository, tag or manifest.",
    409: "Refused: a duplicate name, a tier limit, or an operation the registry does not support.",
    502: "The registry answered with an error.",
    503: "The registry cannot be reached or did not answer in time.",
}
# What an operation that calls the registry may answer besides the usual problems.
REGISTRY_CALL_PROBLEMS = (409, 502, 503)


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (`pcl_pat_…`), e.g. from "
            "`manage.py issue_token --user NAME`.",
        }


class ServicePrincipalScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ServicePrincipalAuthentication"
    name = "servicePrincipal"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "A service principal's client id as the user name and one of its "
            "secrets (`pcl_sps_…`) as the password.",
        }


class ApiSchema(AutoSchema):
    """Documents the problem responses an operation can give beside its success response.

    Views list extra ones per method in ``problem_statuses`` (``{"DELETE": (409, 503)}``).
    """

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        statuses = [400, 401, 403]
        if "{" in self.path:
            statuses.append(404)
        statuses += getattr(self.view, "problem_statuses", {}).get(self.method, ())
        for code in statuses:
            response = self._get_response_for_code(
                ProblemSerializer, str(code), [PROBLEM_CONTENT_TYPE], direction
            )
            response["description"] = PROBLEM_DESCRIPTIONS[code]
            responses.setdefault(str(code), response)
        return responses


def path_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


REGISTRY_PARAMETER = path_parameter("registry", "The registry's name (any case).")
NAMESPACE_PARAMETER = path_parameter("namespace", "The namespace, e.g. team-a/backend.")
REPOSITORY_PARAMETER = path_parameter("repository", "The repository, e.g. team-a/app.")
TAG_PARAMETER = path_parameter("tag", "The tag, e.g. v1.2.")
DIGEST_PARAMETER = path_parameter("digest", "The manifest's digest, sha256:…")
