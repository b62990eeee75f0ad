"""The registry token server: its ES256 signing keys and the certificates registries trust
(``keys``, ``signing``), the tokens it signs (``issue``), who signs in (``credentials``), the
``/oauth2/token`` and ``/oauth2/exchange`` views (``server``), and the tokens the portal signs
for its own registry client (``portal``)."""
