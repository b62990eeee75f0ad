"""Scopes are strings (DESIGN.md rule 2), parsed here into something that can be compared.

``/`` (everything), ``/registries/{r}``, ``/registries/{r}/namespaces/{ns}`` and
``/registries/{r}/repositories/{repo}``. A namespace covers its nested namespaces and every
repository whose name starts with ``{ns}/``. Registry names compare ignoring case, as they are
unique ignoring case; namespace and repository names are lowercase by the OCI grammar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from registry.validation import REGISTRY_NAME_RE, REPOSITORY_NAME_MAX_LENGTH, REPOSITORY_NAME_RE

Kind = Literal["root", "registry", "namespace", "repository"]

_PREFIX = "/registries/"
_KINDS: dict[str, Kind] = {"namespaces": "namespace", "repositories": "repository"}


@dataclass(frozen=True)
class Scope:
    kind: Kind
    registry: str = ""
    name: str = ""  # the namespace or repository name

    def __str__(self) -> str:
        if self.kind == "root":
            return "/"
        base = f"{_PREFIX}{self.registry}"
        if self.kind == "registry":
            return base
        plural = "namespaces" if self.kind == "namespace" else "repositories"
        return f"{base}/{plural}/{self.name}"

    def covers(self, other: Scope) -> bool:
        """Whether an assignment at this scope applies at ``other``."""
        if self.kind == "root":
            return True
        if other.kind == "root" or self.registry.casefold() != other.registry.casefold():
            return False
        if self.kind == "registry":
            return True
        if self.kind == "repository":
            return other.kind == "repository" and other.name == self.name
        # A namespace: itself, nested namespaces, the repositories under it.
        if other.kind == "registry":
            return False
        return (other.kind == "namespace" and other.name == self.name) or other.name.startswith(
            f"{self.name}/"
        )

    def ancestors(self) -> tuple[Scope, ...]:
        """Every scope that covers this one, from ``/`` down to itself.

        For a repository ``team-a/backend/api`` that is ``/``, the registry, the namespaces
        ``team-a`` and ``team-a/backend`` (whether or not they exist) and the repository, so the
        assignments that apply anywhere are those whose scope string is one of these.
        """
        if self.kind == "root":
            return (self,)
        chain: list[Scope] = [ROOT, Scope("registry", self.registry)]
        if self.kind != "registry":
            parts = self.name.split("/")
            last = len(parts) if self.kind == "namespace" else len(parts) - 1
            chain += [
                Scope("namespace", self.registry, "/".join(parts[:i])) for i in range(1, last + 1)
            ]
            if self.kind == "repository":
                chain.append(self)
        return tuple(chain)


ROOT = Scope("root")


def parse_scope(text: str) -> Scope:
    """The scope a string names, or ValueError saying what is wrong with it."""
    if text == "/":
        return ROOT
    if not text.startswith(_PREFIX):
        raise ValueError(
            f"{text!r} is not a scope: scopes are '/', '/registries/{{registry}}', "
            "'/registries/{registry}/namespaces/{namespace}' or "
            "'/registries/{registry}/repositories/{repository}'."
        )
    registry, slash, rest = text[len(_PREFIX) :].partition("/")
    if not REGISTRY_NAME_RE.fullmatch(registry):
        raise ValueError(f"{registry!r} in scope {text!r} is not a registry name.")
    if not slash:
        return Scope("registry", registry)
    plural, _, name = rest.partition("/")
    kind = _KINDS.get(plural)
    if kind is None:
        raise ValueError(
            f"Scope {text!r}: after the registry comes 'namespaces/…' or 'repositories/…'."
        )
    if len(name) > REPOSITORY_NAME_MAX_LENGTH or not REPOSITORY_NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} in scope {text!r} is not a valid {kind} name.")
    return Scope(kind, registry, name)
