"""Emails about access requests: who hears of each step, and what they read.

Services call ``notify`` inside their transaction; the email is queued as a task once the
transaction commits (``access_request_notify``; ``manage.py db_worker`` sends it), so a rolled
back step mails nobody and a slow mail server never holds up a page. Recipients are worked out
when the mail is sent, from the request as it is then.

- the requester hears of every step (for a service principal: its owner, who asked);
- the approvers (``selectors.approvers_of``) hear of every step except reminders, which are the
  requester's prompt to extend.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

if TYPE_CHECKING:
    from registry.models import AccessRequest

logger = logging.getLogger(__name__)

SUBJECTS = {
    "created": "{requester} asks for {role} at {scope}",
    "extension_requested": "{requester} asks to extend {role} at {scope}",
    "approval": "approved once, waiting for a second team lead",
    "approved": "approved: {role} at {scope}",
    "denied": "denied: {role} at {scope}",
    "cancelled": "cancelled",
    "expired": "expired without a decision",
    "grant_expired": "{role} at {scope} has ended",
    "reminder": "{role} at {scope} ends soon",
}
TO_APPROVERS = set(SUBJECTS) - {"reminder"}


def notify(access_request: AccessRequest, event: str) -> None:
    """Send the emails of ``event`` once the current transaction commits."""
    from registry.access_requests.tasks import access_request_notify

    assert event in SUBJECTS, event
    pk = access_request.pk
    transaction.on_commit(lambda: access_request_notify.enqueue(pk, event))


def absolute(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def send(access_request: AccessRequest, event: str) -> int:
    """Write and send the emails of ``event``; returns how many were sent."""
    from registry.access_requests.selectors import approvers_of

    recipients: dict[str, str] = {}  # address -> role in this request
    requester = access_request.requested_by
    if requester.email and requester.is_active:
        recipients[requester.email.lower()] = "requester"
    if event in TO_APPROVERS:
        for approver in approvers_of(access_request):
            if approver.email:
                recipients.setdefault(approver.email.lower(), "approver")
    if not recipients:
        return 0
    names = {
        "role": access_request.role.name,
        "scope": access_request.scope,
        "requester": requester.get_username(),
    }
    subject = f"[Portcullis] Access request {access_request.pk}: " + SUBJECTS[event].format(**names)
    links = {
        "request": absolute(reverse("access_requests:detail", args=[access_request.pk])),
        "inbox": absolute(reverse("access_requests:inbox")),
        "mine": absolute(reverse("access_requests:mine")),
    }
    messages = []
    for address, part in sorted(recipients.items()):
        body = render_to_string(
            "access_requests/email.txt",
            {"request": access_request, "event": event, "part": part, "links": links},
        )
        messages.append(EmailMessage(subject, body, to=[address]))
    with get_connection() as connection:
        sent = connection.send_messages(messages) or 0
    logger.info("access request %s: %s mailed to %d", access_request.pk, event, sent)
    return sent
