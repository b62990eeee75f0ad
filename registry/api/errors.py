"""One error shape for the whole API: RFC 9457 problem details (``application/problem+json``).

DRF's own exceptions, Django's validation and 404s, and the portal's domain errors (a registry
that is down, a refused action) all leave through here, so callers parse one format.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from registry.backend import NotFound, RegistryError, RegistryUnavailable, Unauthorized, Unsupported
from registry.services import ActionRefused

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Conflict(exceptions.APIException):
    """The request clashes with what exists (a duplicate name): 409."""

    status_code = 409
    default_detail = "This conflicts with an object that already exists."
    default_code = "conflict"


def problem(
    status: int, detail: Any, *, title: str | None = None, type_: str = "about:blank", **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if isinstance(detail, dict | list):
        body["detail"] = (
            "The request has invalid fields."
            if isinstance(detail, dict)
            else "; ".join(str(d) for d in detail)
        )
        if isinstance(detail, dict):
            body["errors"] = detail
    else:
        body["detail"] = str(detail)
    body.update(extra)
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _registry_problem(exc: RegistryError) -> Response:
    if isinstance(exc, NotFound):
        return problem(404, exc.message, title="Not found in the registry")
    if isinstance(exc, Unsupported):
        return problem(409, exc.message, title="Not supported by this registry")
    if isinstance(exc, RegistryUnavailable):
        return problem(503, exc.message, title="Registry unavailable")
    if isinstance(exc, Unauthorized):
        return problem(502, exc.message, title="Registry refused the portal's credentials")
    return problem(502, exc.message, title="Registry error")


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RegistryError):
        logger.warning("registry error in API: %s", exc.message)
        return _registry_problem(exc)
    if isinstance(exc, ActionRefused):
        return problem(409, str(exc), title="Action refused")
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return problem(400, detail, title="Invalid request")
    if isinstance(exc, IntegrityError):
        return problem(409, "This conflicts with an object that already exists.", title="Conflict")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = exception_handler(exc, context)
    if response is None:
        if settings.DEBUG:
            return None  # Django's debug page, with the traceback
        # A bug: callers get the one error shape, operators the traceback in the log.
        logger.error("unhandled error in the API", exc_info=exc)
        return problem(500, "The portal failed to answer. The error has been logged.")
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        result = problem(response.status_code, data, title="Invalid request")
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        result = problem(response.status_code, detail)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    return result
