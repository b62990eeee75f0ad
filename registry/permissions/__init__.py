"""The permission model's vocabulary: actions, built-in roles, scopes and registry token scopes.

These are the pure parts of the permissions engine (DESIGN.md, rules 1–4 and the token server
facts): no database, no request. The engine that evaluates role assignments, and the HTML views,
the API and the token server that ask it, build on them.
"""

from registry.permissions.actions import ACTIONS, BUILTIN_ROLES, validate_actions
from registry.permissions.scopes import ROOT, Scope, parse_scope

__all__ = ["ACTIONS", "BUILTIN_ROLES", "ROOT", "Scope", "parse_scope", "validate_actions"]
