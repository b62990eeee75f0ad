"""Microsoft Entra ID: single sign-on, group memberships and Entra access tokens.

- ``config``: the configured tenant and app registration, read from settings.
- ``tokens``: checking Entra ID v2 JWTs (ID tokens at sign-in, access tokens at the token
  server) against the tenant's signing keys.
- ``graph``: Microsoft Graph, for the signed-in person's transitive group memberships.
- ``directory``: the writes, mapping an Entra identity to a portal user and its groups.
- ``provider``, ``views``, ``urls``, ``adapter``: django-allauth's ``microsoft`` provider with
  the tenant checks and the group refresh added.
"""
