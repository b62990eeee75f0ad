"""The ``portcullis`` command: helpers for people and machines that use Portcullis registries.

Installed with the portal (``[project.scripts]``); depends on the standard library and httpx
only, never on Django.
"""
