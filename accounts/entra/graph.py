"""Microsoft Graph: the groups a person belongs to, directly or through other groups.

``GET {ENTRA_GRAPH_URL}/v1.0/me/transitiveMemberOf`` with the person's delegated Graph token
(``GroupMember.Read.All``), page after page (``@odata.nextLink``); directory roles and
administrative units in the answer are skipped. At the token server the portal holds a token
for itself, not for Graph, and trades it for one first (the on-behalf-of flow).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from accounts.entra.config import EntraConfig, entra_config
from accounts.entra.tokens import OBJECT_ID_RE, EntraTokenError, EntraUnavailable

GROUP_TYPE = "#microsoft.graph.group"
PAGE_SIZE = 999  # Graph's largest page for this list
# A person in more groups than this is refused rather than read for ever.
MAX_PAGES = 50
MAX_NAME_LENGTH = 256


class GraphError(EntraUnavailable):
    """Graph could not say which groups the person is in; the sign-in cannot go on."""


@dataclass(frozen=True)
class DirectoryGroup:
    object_id: str
    display_name: str = ""  # empty when only the id is known (a token's groups claim)


def _error_detail(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f": {error.get('code', '')} {error.get('message', '')}".rstrip(": ")
    except (ValueError, AttributeError):
        return ""


def transitive_groups(
    access_token: str, *, config: EntraConfig | None = None
) -> list[DirectoryGroup]:
    """Every group the token's person belongs to; GraphError when Graph does not answer."""
    config = config or entra_config()
    base = config.graph_url
    url = f"{base}/v1.0/me/transitiveMemberOf"
    params: dict[str, str] | None = {"$select": "id,displayName", "$top": str(PAGE_SIZE)}
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    found: dict[str, DirectoryGroup] = {}
    with httpx.Client(timeout=config.timeout, follow_redirects=False) as client:
        for _ in range(MAX_PAGES):
            try:
                response = client.get(url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise GraphError(f"Microsoft Graph could not be reached: {exc}") from None
            if response.status_code != 200:
                raise GraphError(
                    f"Microsoft Graph answered {response.status_code} when asked for the "
                    f"groups{_error_detail(response)}"
                )
            try:
                page = response.json()
                items = page.get("value", [])
                next_link = page.get("@odata.nextLink")
            except (ValueError, AttributeError):
                raise GraphError(
                    "Microsoft Graph sent a list of groups it could not read."
                ) from None
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict) or item.get("@odata.type") != GROUP_TYPE:
                    continue
                object_id = str(item.get("id", "")).lower()
                if OBJECT_ID_RE.fullmatch(object_id):
                    name = str(item.get("displayName") or "")[:MAX_NAME_LENGTH]
                    found[object_id] = DirectoryGroup(object_id, name)
            if not next_link:
                return list(found.values())
            # The next page must come from Graph itself: the person's token goes along.
            if urlsplit(str(next_link))[:2] != urlsplit(base)[:2]:
                raise GraphError("Microsoft Graph pointed the next page at another host.")
            url, params = str(next_link), None
    raise GraphError(f"The person is in more groups than {MAX_PAGES} pages of Graph can list.")


def graph_token_on_behalf_of(access_token: str, *, config: EntraConfig | None = None) -> str:
    """A Graph token for the person an access token to the portal names (on-behalf-of flow)."""
    config = config or entra_config()
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "assertion": access_token,
        "scope": f"{config.graph_url}/.default",
        "requested_token_use": "on_behalf_of",
    }
    try:
        response = httpx.post(config.token_url, data=data, timeout=config.timeout)
    except httpx.HTTPError as exc:
        raise GraphError(f"Entra ID's token endpoint could not be reached: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 400 and body.get("error") in {
        "invalid_grant",
        "interaction_required",
    }:
        # Entra refuses this person's token for Graph (consent missing, session revoked).
        raise EntraTokenError(
            "Entra ID would not let the portal read this person's groups: "
            f"{str(body.get('error_description', body['error']))[:300]}"
        )
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str):
        raise GraphError(
            f"Entra ID's token endpoint answered {response.status_code} to the on-behalf-of "
            "request for a Graph token."
        )
    return token
