"""The backend client's errors: every failure to talk to a registry is a ``RegistryError``.

``message`` is written for the person who will read it in the portal (it names the registry
and what was asked); ``status_code`` and ``code`` (the registry's error code, such as
``MANIFEST_UNKNOWN`` or ``UNSUPPORTED``) let callers tell cases apart without parsing text.
"""

from __future__ import annotations


class RegistryError(Exception):
    """A registry could not do what was asked."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code

    def __str__(self) -> str:
        return self.message


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached, timed out, failed (5xx) or answered nonsense."""


class NotFound(RegistryError):
    """The registry does not know the repository, manifest, tag or blob (404)."""


class Unsupported(RegistryError):
    """The registry refuses the operation as such: deletes disabled, untag on distribution 2.8."""


class Unauthorized(RegistryError):
    """The registry wants credentials (401/403) that the token provider could not give."""
