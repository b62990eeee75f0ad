"""The registry token protocol's scopes (``repository:team-a/app:pull,push``) in portal actions.

Grammar, as the docker CLI and distribution use it: the resource type comes before the first
``:``, the actions after the last one, the name in between. Granting is requested ∩ permitted,
and asking for more than is allowed is never an error, so anything this module does not know
(another resource type, an unknown action) simply maps to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.permissions.actions import CONTENT_DELETE, CONTENT_READ, CONTENT_WRITE, METADATA_READ

# Docker's repository actions and the portal action each needs; "*" asks for all of them.
REPOSITORY_ACTIONS = {"pull": CONTENT_READ, "push": CONTENT_WRITE, "delete": CONTENT_DELETE}
CATALOG = ("registry", "catalog")


@dataclass(frozen=True)
class TokenScope:
    type: str  # "repository", "registry", or with a class: "repository(plugin)"
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    @property
    def resource_type(self) -> str:
        """The type without its resource class."""
        return self.type.partition("(")[0]

    def needs(self) -> dict[str, str]:
        """Each requested docker action this portal can grant → the portal action it needs.

        ``*`` on a repository expands to pull, push and delete, so a caller allowed only some
        of them gets those, by name. ``registry:catalog:*`` needs ``metadata/read`` on the
        registry. Anything else needs nothing and gets nothing.
        """
        if (self.resource_type, self.name) == CATALOG:
            return {"*": METADATA_READ} if "*" in self.actions else {}
        if self.resource_type != "repository":
            return {}
        wanted = set(REPOSITORY_ACTIONS) if "*" in self.actions else set(self.actions)
        return {action: need for action, need in REPOSITORY_ACTIONS.items() if action in wanted}


def parse_token_scope(text: str) -> TokenScope:
    """A ``scope`` parameter of a token request; ValueError without a type, name and both ``:``."""
    resource_type, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and resource_type and name):
        raise ValueError(f"{text!r} is not a scope: expected type:name:actions.")
    parsed = tuple(dict.fromkeys(a for a in actions.split(",") if a))
    return TokenScope(resource_type, name, parsed)
