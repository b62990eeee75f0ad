"""Webhooks: ACR's model and payload, signed the Standard Webhooks way, delivered at least once.

- ``validation``: names, actions, scope globs, custom headers, the shape of a service URI;
- ``network``: the SSRF guard (where a service URI may point, checked at save and at send time);
- ``outbox``: the deliveries an applied registry event causes, written in its transaction;
- ``delivery``: claiming, signing, sending, recording and retrying deliveries (the worker's side);
- ``services``: every write (create, update, delete, rotate the secret, ping, redeliver), audited.

docs/webhooks.md describes the whole for operators and receivers.
"""
