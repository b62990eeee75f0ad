"""Access requests: people ask for a role at a scope, the scope's team leads decide.

- ``policy``: durations, reminders, the role a 403 page offers (no database);
- ``selectors``: who may decide which request, the inbox, who reads what;
- ``services``: create, extend, approve, deny, cancel and the periodic sweep, each audited;
- ``notifications`` and ``tasks``: the emails, sent after each step commits.

See docs/access-requests.md.
"""
